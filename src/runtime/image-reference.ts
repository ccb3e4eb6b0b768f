/**
 * Image references normalised the way the Docker engine does (distribution/reference's
 * ParseNormalizedNamed): `python` → `docker.io/library/python:latest`, `ghcr.io/a/b` → `ghcr.io/a/b:latest`,
 * `127.0.0.1:5000/x@sha256:…` keeps its digest. Pure: used by policies (before any engine call), the
 * puller (single-flight key, credentials by host) and the run record.
 */

export const DOCKER_HUB = 'docker.io';

export interface ImageReference {
  /** Registry host[:port], `docker.io` for Docker Hub. */
  registry: string;
  /** The reference names its registry (`ghcr.io/a/b`), rather than a short name (`python`, `orcaops/python`). */
  explicitRegistry: boolean;
  /** Path in the registry, `library/python` for an official Hub image. */
  path: string;
  /** `registry/path`, e.g. `docker.io/library/python`. */
  repository: string;
  tag: string | null;
  /** `sha256:<64 hex>` when pinned. */
  digest: string | null;
  /** The full normalised reference: repository, `:tag` (default latest without a digest), `@digest`. */
  canonical: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
export const MAX_REFERENCE_LENGTH = 255;

export class InvalidImageReference extends Error {}

/** Parses and normalises; throws InvalidImageReference for anything the engine would refuse. */
export function parseImageReference(input: string): ImageReference {
  const text = input.trim();
  if (!text || text.length > MAX_REFERENCE_LENGTH) throw new InvalidImageReference(`image reference must be 1-${MAX_REFERENCE_LENGTH} characters`);
  const at = text.indexOf('@');
  const digest = at === -1 ? null : text.slice(at + 1);
  if (digest !== null && !DIGEST.test(digest)) throw new InvalidImageReference(`"${text}": a digest must be sha256:<64 lowercase hex>`);
  let name = at === -1 ? text : text.slice(0, at);
  let tag: string | null = null;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidImageReference(`"${text}": invalid tag "${tag}"`);
  }
  const parts = name.split('/');
  const first = parts[0] ?? '';
  const hasHost = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  let registry = hasHost ? first : DOCKER_HUB;
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  if (hasHost && !HOST.test(registry)) throw new InvalidImageReference(`"${text}": invalid registry host "${registry}"`);
  const pathParts = hasHost ? parts.slice(1) : parts;
  if (registry === DOCKER_HUB && pathParts.length === 1) pathParts.unshift('library');
  if (!pathParts.length || pathParts.some((p) => !COMPONENT.test(p))) throw new InvalidImageReference(`"${text}": invalid repository name`);
  const path = pathParts.join('/');
  const repository = `${registry}/${path}`;
  if (tag === null && digest === null) tag = 'latest';
  const canonical = `${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return { registry, explicitRegistry: hasHost, path, repository, tag, digest, canonical };
}

/** The reference pinned to `digest` (what a rerun uses): `repository@digest`. */
export function pinnedReference(ref: ImageReference, digest: string): string {
  return `${ref.repository}@${digest}`;
}

/**
 * The digest of `ref`'s repository among an image's RepoDigests (`repo@sha256:…` as the engine lists
 * them, Hub ones without `docker.io/`); null when the image did not come from that repository.
 */
export function digestFor(ref: ImageReference, repoDigests: string[]): string | null {
  for (const entry of repoDigests) {
    const at = entry.lastIndexOf('@');
    if (at === -1) continue;
    try {
      if (parseImageReference(entry.slice(0, at)).repository === ref.repository) return entry.slice(at + 1);
    } catch {
      // An entry we cannot parse names no repository we pull.
    }
  }
  return null;
}
