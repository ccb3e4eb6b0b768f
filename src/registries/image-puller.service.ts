import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { PoliciesService } from 'src/policies/policies.service';
import type { PullPolicy } from 'src/policies/policy-model';
import { registryAllowed } from 'src/policies/policy-rules';
import { ImagePullGrantEntity } from 'src/registries/entities/image-pull-grant.entity';
import { ImageCacheService } from 'src/registries/image-cache.service';
import { RegistryCredentialsService } from 'src/registries/registry-credentials.service';
import { SingleFlight } from 'src/registries/single-flight';
import { builtBy, isWorkspaceImageReference } from 'src/registries/workspace-images';
import { CONTAINER_RUNTIME, ContainerRuntime, ImageInfo, PullProgress, RegistryAuth } from 'src/runtime/container-runtime.port';
import { digestFor, ImageReference, InvalidImageReference, parseImageReference, pinnedReference } from 'src/runtime/image-reference';
import { ImagePullError, RuntimeError } from 'src/runtime/runtime.errors';

/** What a run uses: the reference to create its container from (pinned by digest when it came from a registry). */
export interface ResolvedImage {
  reference: string;
  /** sha256:… of the image in its registry; null for images built on this engine (the standard images). */
  digest: string | null;
  sizeBytes: number;
  /** When a pull happened for this request (shared pulls count for every caller), its phase. */
  pull: { startedAt: Date; finishedAt: Date } | null;
}

export interface EnsureOptions {
  pullPolicy?: PullPolicy;
  /** Compact, rate-limited progress lines (`pulling …: 3/5 layers, 48/160 MB`). */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
  /** Called once when this request has to pull (the start of its pull phase). */
  onPullStart?: (startedAt: Date) => void;
}

/** Attempts of a pull that could not reach its registry, and the waits between them. */
export const PULL_RETRY_DELAYS_MS = [500, 2_000];
/** At most one progress line per this many ms per caller (plus the last one). */
const PROGRESS_LINE_MS = 1_000;

/**
 * Makes an image usable by one workspace: the policy (registries, size), the workspace's own
 * credentials for the registry host, one shared pull per (reference, credentials) at a time with
 * retries while the registry is unreachable, and a pull grant per (workspace, repository, digest).
 * The engine's image cache is shared, so an image that came from a registry is used only when this
 * workspace has a grant for its digest, checked on every use; otherwise this workspace pulls it itself
 * (the registry checks its credentials; layers already present make that fast). An image a workspace
 * built (workspace-images.ts labels) is usable by that workspace only, under any reference.
 */
@Injectable()
export class ImagePuller {
  private readonly logger = new Logger(ImagePuller.name);
  /** Engine pulls, shared by every workspace that pulls a reference with the same credentials (or none). */
  private readonly flights = new SingleFlight<void, PullProgress>();
  /** Per workspace and reference: the engine pull (shared above) plus this workspace's grant. */
  private readonly workspacePulls = new SingleFlight<Omit<ResolvedImage, 'pull'>, PullProgress>();

  constructor(
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    @InjectScopedRepository(ImagePullGrantEntity) private readonly grants: TenantScopedRepository<ImagePullGrantEntity>,
    private readonly credentials: RegistryCredentialsService,
    private readonly policies: PoliciesService,
    private readonly cache: ImageCacheService,
  ) {}

  async ensure(workspaceId: string, image: string, options: EnsureOptions = {}): Promise<ResolvedImage> {
    const resolved = await this.resolve(workspaceId, image, options);
    // Only resolve({ noPull: true }) answers undefined.
    return resolved!;
  }

  /**
   * The image as this workspace may use it now, without pulling (the policy's size limit and this
   * workspace's pull grant checked), or undefined when using it needs a pull. A warm pool container
   * already runs its image: a sandbox may take one only when this says yes.
   */
  usableWithoutPull(workspaceId: string, image: string): Promise<ResolvedImage | undefined> {
    return this.resolve(workspaceId, image, { noPull: true });
  }

  private async resolve(workspaceId: string, image: string, options: EnsureOptions & { noPull?: boolean }): Promise<ResolvedImage | undefined> {
    const pullPolicy = options.pullPolicy ?? 'if_not_present';
    const ref = parse(image);
    const checkedAt = Date.now();
    const policy = await this.policies.imagePolicy(workspaceId);
    const maxBytes = policy.max_size_mb === undefined ? undefined : policy.max_size_mb * 1024 * 1024;
    const found = await this.runtime.inspectImage(ref.digest ? pinnedReference(ref, ref.digest) : image);
    const owner = found && builtBy(found);
    // Another workspace's built image is, for this one, not on the engine: the same answer as a missing image.
    const local = owner !== undefined && owner !== workspaceId ? undefined : found;
    if (isWorkspaceImageReference(ref)) {
      // Workspace images are never pulled; only the workspace that built one may use it.
      if (!local || owner !== workspaceId) throw new RuntimeError('image_not_found', `image ${image} is not on this engine (workspace images come from POST /v1/images/builds)`);
      return { reference: ref.canonical, digest: null, sizeBytes: checkSize(image, local, maxBytes), pull: null };
    }
    if (local && pullPolicy !== 'always') {
      const usable = await this.usableLocally(workspaceId, ref, local);
      if (usable) return { ...usable, sizeBytes: checkSize(image, local, maxBytes) };
    }
    if (options.noPull) return undefined;
    if (pullPolicy === 'never') {
      throw new ImagePullError(
        local ? 'unauthorized' : 'not_found',
        local
          ? `image ${image} came from a registry and this workspace has not pulled it itself; pull policy "never" forbids the pull that would authorise it`
          : `image ${image} is not on the engine and the pull policy is "never"`,
      );
    }
    if (!registryAllowed(policy, ref.registry)) {
      // A short name that is not on the engine (`orcaops/not-built`) stays what it was before pulls existed.
      if (!local && !ref.explicitRegistry) {
        throw new RuntimeError('image_not_found', `image ${image} is not on this engine, and pulling from "${ref.registry}" is not allowed by the policy (images.registries)`);
      }
      throw new ImagePullError('denied_by_policy', `image ${image} would be pulled from "${ref.registry}", which the policy does not allow (images.registries)`);
    }
    const cacheBytes = policy.max_cache_mb === undefined ? undefined : policy.max_cache_mb * 1024 * 1024;
    if (cacheBytes !== undefined) await this.checkCacheQuota(workspaceId, image, cacheBytes, local?.id, 0);
    const startedAt = new Date();
    options.onPullStart?.(startedAt);
    const onProgress = options.onLine ? progressLines(ref.canonical, options.onLine) : undefined;
    // The workspace's whole pull-and-grant is one flight: it ends only once the grant is written, so a
    // request of this workspace that finds the image on the engine after that sees the grant, and one
    // that looked before joins or reuses the flight (`checkedAt`) instead of pulling a second time.
    const pulled = await this.workspacePulls.run(
      `${workspaceId}|${ref.canonical}`,
      (progress) => this.pullAndGrant(workspaceId, image, ref, { maxBytes, cacheBytes }, progress, checkedAt),
      onProgress,
      options.signal,
      checkedAt,
    );
    return { ...pulled, pull: { startedAt, finishedAt: new Date() } };
  }

  private async pullAndGrant(
    workspaceId: string,
    image: string,
    ref: ImageReference,
    { maxBytes, cacheBytes }: { maxBytes: number | undefined; cacheBytes: number | undefined },
    progress: (p: PullProgress) => void,
    checkedAt: number,
  ): Promise<Omit<ResolvedImage, 'pull'>> {
    await this.pull(workspaceId, ref, progress, checkedAt);
    const pulled = await this.runtime.inspectImage(ref.canonical);
    if (!pulled) throw new ImagePullError('not_found', `image ${image} is missing after its pull`);
    const digest = ref.digest ?? digestFor(ref, pulled.repoDigests ?? []);
    let sizeBytes: number;
    try {
      sizeBytes = checkSize(image, pulled, maxBytes);
      if (cacheBytes !== undefined) await this.checkCacheQuota(workspaceId, image, cacheBytes, pulled.id, pulled.sizeBytes);
    } catch (error) {
      // Refused after the pull: the image is nobody's unless another workspace holds a grant for it.
      await this.cache.discardUnclaimed(pulled.id, ref.repository);
      throw error;
    }
    if (digest) await this.grant(workspaceId, ref.repository, digest);
    return { reference: digest ? pinnedReference(ref, digest) : ref.canonical, digest, sizeBytes };
  }

  /** The local image as this workspace may use it, or undefined when it needs this workspace's own pull. */
  private async usableLocally(workspaceId: string, ref: ImageReference, local: ImageInfo): Promise<Omit<ResolvedImage, 'sizeBytes'> | undefined> {
    // Built or imported on this engine (the standard images): nobody's registry credentials are involved.
    if (!local.repoDigests?.length) return { reference: ref.digest ? pinnedReference(ref, ref.digest) : ref.canonical, digest: null, pull: null };
    const digest = ref.digest ?? digestFor(ref, local.repoDigests);
    // No digest under this repository: the name was given on this engine (built, imported or tagged here),
    // not pulled; its digests are of other names it was pushed to or pulled as (a standard image pushed to
    // a registry keeps that RepoDigest), which say nothing about this name.
    if (!digest) return { reference: ref.canonical, digest: null, pull: null };
    const granted = await this.grants.findOne(workspaceId, { repository: ref.repository, digest });
    if (!granted) return undefined;
    await this.cache.markUsed(workspaceId, ref.repository, digest);
    return { reference: pinnedReference(ref, digest), digest, pull: null };
  }

  /**
   * images.max_cache_mb: the bytes of this workspace's images (each counted whole, shared layers included)
   * plus `addingBytes` of the image being pulled must fit; checked before the pull (with 0: already full)
   * and after it (with the image's size, which only the engine knows).
   */
  private async checkCacheQuota(workspaceId: string, image: string, quotaBytes: number, imageId: string | undefined, addingBytes: number): Promise<void> {
    const used = await this.cache.workspaceBytes(workspaceId, imageId);
    if (addingBytes === 0 ? used < quotaBytes : used + addingBytes <= quotaBytes) return;
    const adding = addingBytes ? ` and ${image} is ${mib(addingBytes)} MiB` : '';
    throw new ImagePullError(
      'too_large',
      `this workspace's images take ${mib(used)} MiB of its ${mib(quotaBytes)} MiB image quota${adding} (images.max_cache_mb); ask an organisation admin to prune or raise it`,
    );
  }

  private async pull(workspaceId: string, ref: ImageReference, onProgress: (p: PullProgress) => void, checkedAt: number): Promise<void> {
    const credential = await this.credentials.authFor(workspaceId, ref.registry);
    // One pull per reference and credential row: workspaces never share a pull made with another's credentials.
    const key = `${ref.canonical}|${credential?.id ?? 'anonymous'}`;
    await this.flights.run(key, (progress) => this.pullWithRetries(ref.canonical, credential?.auth, progress), onProgress, undefined, checkedAt);
  }

  private async pullWithRetries(reference: string, auth: RegistryAuth | undefined, onProgress: (p: PullProgress) => void): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.runtime.pullImage(reference, { auth, onProgress });
      } catch (error) {
        const delay = PULL_RETRY_DELAYS_MS[attempt];
        if (!(error instanceof ImagePullError) || error.reason !== 'registry_unreachable' || delay === undefined) throw error;
        this.logger.warn({ msg: 'registry unreachable; retrying the pull', reference, attempt: attempt + 1, delay_ms: delay });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private async grant(workspaceId: string, repository: string, digest: string): Promise<void> {
    if (await this.grants.findOne(workspaceId, { repository, digest })) return this.cache.markUsed(workspaceId, repository, digest);
    this.cache.noteGranted(workspaceId, repository, digest);
    await this.grants.insert(workspaceId, { id: randomUUID(), repository, digest, lastUsedAt: new Date() }).catch((error: unknown) => {
      // Two pulls of this workspace raced: the unique index kept one grant, which is all we need.
      if ((error as { code?: string }).code !== '23505') throw error;
    });
  }
}

function parse(image: string): ImageReference {
  try {
    return parseImageReference(image);
  } catch (error) {
    throw new ImagePullError('not_found', error instanceof InvalidImageReference ? error.message : `invalid image reference "${image}"`);
  }
}

function checkSize(image: string, info: ImageInfo, maxBytes: number | undefined): number {
  if (maxBytes !== undefined && info.sizeBytes > maxBytes) {
    throw new ImagePullError('too_large', `image ${image} is ${mib(info.sizeBytes)} MiB, above the policy maximum of ${mib(maxBytes)} MiB (images.max_size_mb)`);
  }
  return info.sizeBytes;
}

const mib = (bytes: number): number => Math.round(bytes / 1024 / 1024);

/** Progress events → at most one line per second, and always the last one. */
export function progressLines(reference: string, onLine: (line: string) => void): (p: PullProgress) => void {
  let last = 0;
  return (p) => {
    const done = p.complete === true;
    const now = Date.now();
    if (!done && now - last < PROGRESS_LINE_MS) return;
    last = now;
    const bytes = p.totalBytes ? `, ${mib(p.downloadedBytes)}/${mib(p.totalBytes)} MiB` : '';
    onLine(`pulling ${reference}: ${p.layersDone}/${p.layers} layers${bytes}${done ? ' (done)' : ''}`);
  };
}
