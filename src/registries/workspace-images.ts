import type { ImageInfo } from 'src/runtime/container-runtime.port';
import type { ImageReference } from 'src/runtime/image-reference';

/**
 * Images a workspace built from a Dockerfile (issue 13 part 3). They live on the engine's shared image
 * cache, so ownership is carried by the image itself: labels the build sets last (a Dockerfile's own
 * LABEL cannot override them), read on every use by the ImagePuller. The image cache tooling reads the
 * same labels (workspace, kind, build id).
 */
export const IMAGE_WORKSPACE_LABEL = 'orcaops.workspace';
export const IMAGE_KIND_LABEL = 'orcaops.image-kind';
export const IMAGE_BUILD_ID_LABEL = 'orcaops.build-id';
export const BUILT_IMAGE_KIND = 'build';

/** First path component of every workspace image name: `orcaops-ws-<12 hex of the workspace id>/<name>:<tag>`. */
export const WORKSPACE_IMAGE_PREFIX = 'orcaops-ws-';

/** The namespace (first path component) of a workspace's images. */
export function workspaceImageNamespace(workspaceId: string): string {
  return `${WORKSPACE_IMAGE_PREFIX}${workspaceId.replace(/-/g, '').slice(0, 12).toLowerCase()}`;
}

/** A short name in some workspace's namespace: never pulled, usable only by the workspace that built it. */
export function isWorkspaceImageReference(ref: ImageReference): boolean {
  return !ref.explicitRegistry && ref.path.startsWith(WORKSPACE_IMAGE_PREFIX);
}

/** The workspace that built this image, or undefined for any other image (pulled, imported, standard). */
export function builtBy(info: ImageInfo): string | undefined {
  return info.labels?.[IMAGE_KIND_LABEL] === BUILT_IMAGE_KIND ? info.labels[IMAGE_WORKSPACE_LABEL] : undefined;
}

/** The labels a build puts on its image. */
export function builtImageLabels(workspaceId: string, buildId: string): Record<string, string> {
  return { [IMAGE_WORKSPACE_LABEL]: workspaceId, [IMAGE_KIND_LABEL]: BUILT_IMAGE_KIND, [IMAGE_BUILD_ID_LABEL]: buildId };
}
