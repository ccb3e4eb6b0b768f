import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from 'src/audit/audit.service';
import { OrcaOpsError, notFound } from 'src/common/errors/orcaops.error';
import { FairGate } from 'src/common/fair-gate';
import type { HostileTarEntry } from 'src/common/hostile-tar';
import { cleanEntryName, packEntries, readHostileTar } from 'src/common/hostile-tar';
import { KeyedGate } from 'src/common/keyed-gate';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { BuildLog } from 'src/image-builds/build-log';
import type { BaseImageUse } from 'src/image-builds/dockerfile';
import { planDockerfile, rewriteBaseImages } from 'src/image-builds/dockerfile';
import { ImageBuildEntity } from 'src/image-builds/entities/image-build.entity';
import { IMAGE_BUILD_LIMITS } from 'src/image-builds/image-builds.limits';
import { PoliciesService } from 'src/policies/policies.service';
import { imageViolations, pullViolations, registryAllowed } from 'src/policies/policy-rules';
import { ImagePuller } from 'src/registries/image-puller.service';
import { builtBy, builtImageLabels, IMAGE_BUILD_ID_LABEL, workspaceImageNamespace } from 'src/registries/workspace-images';
import { CONTAINER_RUNTIME, ContainerRuntime, ImageBuildResult } from 'src/runtime/container-runtime.port';
import { parseImageReference } from 'src/runtime/image-reference';
import { RuntimeError, toOrcaOpsError } from 'src/runtime/runtime.errors';
import { SecretsService } from 'src/secrets/secrets.service';
import { assertPermission } from 'src/tenancy/assert-permission';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';
import { TenantContext } from 'src/tenancy/tenant-context';

export interface ImageBuildRequest {
  name: string;
  tag?: string;
  /** Path of the Dockerfile in the context (default `Dockerfile`). */
  dockerfile?: string;
}

export interface ImageBuildView {
  id: string;
  image: string;
  name: string;
  tag: string;
  dockerfile: string;
  status: ImageBuildEntity['status'];
  context_bytes: number;
  digest: string | null;
  size_bytes: number | null;
  error: string | null;
  log_truncated: boolean;
  created_by: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface BuildLogEvent {
  event: 'output' | 'end';
  data: unknown;
  /** Offset (characters) after this event: resume with Last-Event-ID. */
  id?: number;
}

interface Admitted {
  entries: HostileTarEntry[];
  dockerfile: HostileTarEntry;
  bases: BaseImageUse[];
}

const INTERRUPTED = 'interrupted: the server stopped during the build; build again';

/**
 * Workspace images built from a Dockerfile (issue 13 part 3). Admission checks everything it can
 * before any engine work (the context tar, the Dockerfile's base images against the policy, the
 * workspace's own images); the build then runs in the background under a per-workspace and a global
 * bound: base images made usable through the ImagePuller (grants, credentials) and pinned into the
 * Dockerfile, the hardened engine build (runtime port), the size limit, a masked and capped log that
 * readers follow live.
 */
@Injectable()
export class ImageBuildsService {
  private readonly logger = new Logger(ImageBuildsService.name);
  /** This process: a queued or running record of another runner was interrupted by a restart. */
  private readonly runner = randomUUID();
  private readonly live = new Map<string, BuildLog>();
  private readonly pending = new Map<string, number>();
  private readonly perWorkspace = new KeyedGate(IMAGE_BUILD_LIMITS.perWorkspaceRunning, IMAGE_BUILD_LIMITS.perWorkspacePending, 'image builds');
  private readonly global = new FairGate({
    capacity: IMAGE_BUILD_LIMITS.globalRunning,
    minShare: 1,
    maxWaitingPerKey: IMAGE_BUILD_LIMITS.perWorkspacePending,
    maxWaitMs: 24 * 3_600_000,
    what: 'image builds',
  });

  constructor(
    @InjectScopedRepository(ImageBuildEntity) private readonly builds: TenantScopedRepository<ImageBuildEntity>,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly puller: ImagePuller,
    private readonly policies: PoliciesService,
    private readonly secrets: SecretsService,
    private readonly audit: AuditService,
  ) {}

  /** Admits a build (202: queued) and runs it in the background. */
  async start(ctx: TenantContext, request: ImageBuildRequest, context: Buffer): Promise<ImageBuildView> {
    assertPermission(ctx, 'image:build');
    const { workspaceId } = requireWorkspace(ctx);
    // The slot is taken before any await, so concurrent requests cannot all pass the check.
    const release = this.reserve(workspaceId);
    let started = false;
    try {
      const tag = request.tag ?? 'latest';
      const image = `${workspaceImageNamespace(workspaceId)}/${request.name}:${tag}`;
      const admitted = await this.admit(workspaceId, request.dockerfile ?? 'Dockerfile', context);
      await this.assertNameFree(workspaceId, image);
      const log = new BuildLog(await this.secrets.workspaceMasker(workspaceId), IMAGE_BUILD_LIMITS.logBytes);
      const row = await this.builds.insert(workspaceId, {
        id: randomUUID(),
        image,
        name: request.name,
        tag,
        dockerfile: admitted.dockerfile.name,
        status: 'queued',
        contextBytes: context.length,
        createdBy: ctx.principal.tokenId,
        runner: this.runner,
      });
      this.live.set(row.id, log);
      started = true;
      void this.run(row, admitted, log).finally(release);
      await this.audit.record(ctx, { action: 'image_build.create', resourceType: 'image_build', resourceId: row.id, details: { image, dockerfile: row.dockerfile, context_bytes: context.length, base_images: admitted.bases.map((b) => b.image) } });
      return view(row);
    } catch (error) {
      // Once the build runs, it gives the slot back when it ends.
      if (!started) release();
      throw error;
    }
  }

  /** A queued-or-running slot of the workspace (429 when it or the server has none left); the function frees it. */
  private reserve(workspaceId: string): () => void {
    this.assertRoom(workspaceId);
    this.pending.set(workspaceId, (this.pending.get(workspaceId) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.pending.get(workspaceId) ?? 1) - 1;
      if (left > 0) this.pending.set(workspaceId, left);
      else this.pending.delete(workspaceId);
    };
  }

  async list(ctx: TenantContext, options: { status?: ImageBuildEntity['status']; limit?: number } = {}): Promise<ImageBuildView[]> {
    assertPermission(ctx, 'image:read');
    const { workspaceId } = requireWorkspace(ctx);
    const rows = await this.builds.find(workspaceId, { where: options.status ? { status: options.status } : {}, order: { createdAt: 'DESC' }, take: Math.min(options.limit ?? 100, 500) });
    return Promise.all(rows.map(async (row) => view(await this.settleInterrupted(workspaceId, row))));
  }

  async get(ctx: TenantContext, id: string): Promise<ImageBuildView> {
    assertPermission(ctx, 'image:read');
    return view(await this.find(requireWorkspace(ctx).workspaceId, id));
  }

  /** The output so far (a running build's live output), and whether it was cut at the cap. */
  async readLog(ctx: TenantContext, id: string): Promise<{ log: string; truncated: boolean; status: ImageBuildEntity['status'] }> {
    assertPermission(ctx, 'image:read');
    const row = await this.find(requireWorkspace(ctx).workspaceId, id);
    const live = this.live.get(id);
    return live ? { log: live.text, truncated: live.truncated, status: row.status } : { log: row.log, truncated: row.logTruncated, status: row.status };
  }

  /** Output events from character `after` on, until the build ends (then one `end` event with the record). */
  async *streamLog(ctx: TenantContext, id: string, after: number, signal: AbortSignal): AsyncGenerator<BuildLogEvent> {
    assertPermission(ctx, 'image:read');
    const { workspaceId } = requireWorkspace(ctx);
    let offset = Math.max(0, after);
    for (;;) {
      const live = this.live.get(id);
      const text = live ? live.text : (await this.find(workspaceId, id)).log;
      if (text.length > offset) {
        yield { event: 'output', data: { data: text.slice(offset) }, id: text.length };
        offset = text.length;
      }
      if (signal.aborted) return;
      if (!live) break;
      if (live.done) {
        // The output is complete; the end comes from the record, once run() has stored it.
        await Promise.race([live.saved, new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]);
        if (signal.aborted) return;
        break;
      }
      await live.changed(signal);
    }
    yield { event: 'end', data: view(await this.find(workspaceId, id)) };
  }

  /** Removes a finished build's image from the engine (when it is still this build's) and its record. */
  async remove(ctx: TenantContext, id: string): Promise<void> {
    assertPermission(ctx, 'image:delete');
    const { workspaceId } = requireWorkspace(ctx);
    const row = await this.find(workspaceId, id);
    if (row.status === 'queued' || row.status === 'running') throw new OrcaOpsError('conflict', `image build ${id} is ${row.status}; delete it once it has ended`);
    let removed = false;
    if (row.digest) {
      const image = await this.inspect(row.digest);
      // A later build of the same name retagged it: that image is the later build's to delete.
      if (image && image.labels?.[IMAGE_BUILD_ID_LABEL] === row.id && builtBy(image) === workspaceId) {
        await this.runtime.removeImage(row.digest, { force: true }).catch((error: unknown) => {
          if (error instanceof RuntimeError && error.code === 'conflict') throw new OrcaOpsError('conflict', `image ${row.image} is in use by a running container; stop it first`);
          throw error instanceof RuntimeError ? toOrcaOpsError(error) : error;
        });
        removed = true;
      }
    }
    await this.builds.delete(workspaceId, { id });
    await this.audit.record(ctx, { action: 'image_build.delete', resourceType: 'image_build', resourceId: id, details: { image: row.image, digest: row.digest, image_removed: removed } });
  }

  // ---- admission -------------------------------------------------------------------------------

  private assertRoom(workspaceId: string): void {
    if ((this.pending.get(workspaceId) ?? 0) >= IMAGE_BUILD_LIMITS.perWorkspacePending) {
      throw new OrcaOpsError('rate_limited', `this workspace already has ${IMAGE_BUILD_LIMITS.perWorkspacePending} image builds queued or running; wait for one to end`);
    }
    let total = 0;
    for (const n of this.pending.values()) total += n;
    if (total >= IMAGE_BUILD_LIMITS.globalPending) throw new OrcaOpsError('rate_limited', 'the server is busy with other image builds; retry in a minute');
  }

  private async admit(workspaceId: string, dockerfilePath: string, context: Buffer): Promise<Admitted> {
    const limits = { maxEntries: IMAGE_BUILD_LIMITS.contextEntries, maxFileBytes: IMAGE_BUILD_LIMITS.contextBytes, maxTotalBytes: IMAGE_BUILD_LIMITS.contextBytes };
    const tar = await readHostileTar(context, limits, { directories: 'keep', absoluteNames: 'refuse' }).catch((error: Error) => {
      throw new OrcaOpsError('bad_request', `the build context is not a readable uncompressed tar: ${error.message}`);
    });
    if (tar.rejectedCount) {
      throw new OrcaOpsError('bad_request', `the build context holds ${tar.rejectedCount} entries that cannot be built (only regular files and directories with relative names)`, { rejected: tar.rejected });
    }
    const wanted = cleanEntryName(dockerfilePath);
    const dockerfile = tar.entries.find((e) => e.type === 'file' && e.name === wanted);
    if (!dockerfile?.data) throw new OrcaOpsError('bad_request', `the build context has no file "${dockerfilePath}" (the Dockerfile)`, { field: 'dockerfile' });
    if (dockerfile.data.length > IMAGE_BUILD_LIMITS.dockerfileBytes) throw new OrcaOpsError('bad_request', `the Dockerfile is larger than ${IMAGE_BUILD_LIMITS.dockerfileBytes} bytes`);
    const plan = planDockerfile(dockerfile.data.toString('utf8'));
    if (plan.problems.length) throw new OrcaOpsError('bad_request', `the Dockerfile cannot be built: ${plan.problems.join('; ')}`, { problems: plan.problems });
    await this.checkBases(workspaceId, plan.images);
    return { entries: tar.entries, dockerfile, bases: plan.images };
  }

  /** Each base image against the policy (before any pull), and a workspace image only of this workspace. */
  private async checkBases(workspaceId: string, bases: BaseImageUse[]): Promise<void> {
    const policy = await this.policies.imagePolicy(workspaceId);
    for (const base of bases) {
      const refused = [...imageViolations(policy, base.image), ...pullViolations(policy, base.image)];
      if (refused.length) {
        const why = refused.map((v) => (v.effect === 'deny' ? v.message : `${v.message} (builds do not wait for approvals)`)).join('; ');
        throw new OrcaOpsError('policy_denied', `line ${base.line}: "${base.instruction}": ${why}`, { line: base.line, image: base.image, violations: refused });
      }
      // Another workspace's image answers as a missing one (ImagePuller); a pullable one is pulled when the build runs.
      const usable = await this.puller.usableWithoutPull(workspaceId, base.image).catch((error: unknown) => {
        if (error instanceof RuntimeError && error.code === 'image_not_found') throw new OrcaOpsError('not_found', `line ${base.line}: "${base.instruction}": ${error.message}`, { line: base.line, image: base.image });
        if (error instanceof RuntimeError) throw new OrcaOpsError('bad_request', `line ${base.line}: "${base.instruction}": ${error.message}`, { line: base.line, image: base.image });
        throw error;
      });
      const registry = parseImageReference(base.image).registry;
      if (!usable && !registryAllowed(policy, registry)) {
        throw new OrcaOpsError('policy_denied', `line ${base.line}: "${base.instruction}": ${base.image} is not on this engine for this workspace, and pulling from "${registry}" is not allowed (images.registries)`, { line: base.line, image: base.image });
      }
    }
  }

  /** The name is this workspace's (its namespace); a different workspace's image under it is a namespace collision. */
  private async assertNameFree(workspaceId: string, image: string): Promise<void> {
    const existing = await this.inspect(image);
    const owner = existing && builtBy(existing);
    if (existing && owner !== workspaceId) throw new OrcaOpsError('conflict', `the image name ${image} is taken on this engine; choose another name`);
  }

  private async inspect(reference: string): ReturnType<ContainerRuntime['inspectImage']> {
    try {
      return await this.runtime.inspectImage(reference);
    } catch (error) {
      throw error instanceof RuntimeError ? toOrcaOpsError(error) : error;
    }
  }

  // ---- the build -------------------------------------------------------------------------------

  private async run(row: ImageBuildEntity, admitted: Admitted, log: BuildLog): Promise<void> {
    const { workspaceId } = row;
    const patch: Partial<ImageBuildEntity> = {};
    try {
      await this.perWorkspace.run(workspaceId, async () => {
        const release = await this.global.acquire(workspaceId);
        try {
          await this.builds.update(workspaceId, { id: row.id }, { status: 'running', startedAt: new Date() });
          Object.assign(patch, await this.build(row, admitted, log));
        } finally {
          release();
        }
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn({ msg: 'image build failed before or outside the engine build', buildId: row.id, error: message });
      log.note(`build failed: ${message}`);
      Object.assign(patch, { status: 'failed', error: message.slice(0, 2_000) });
    } finally {
      log.finish();
      admitted.entries.length = 0;
      await this.builds
        .update(workspaceId, { id: row.id }, { ...patch, log: log.text, logTruncated: log.truncated, finishedAt: new Date() })
        .catch((error: unknown) => this.logger.error({ msg: 'image build record not saved', buildId: row.id, error: String(error) }));
      this.live.delete(row.id);
      log.stored();
    }
  }

  private async build(row: ImageBuildEntity, admitted: Admitted, log: BuildLog): Promise<Partial<ImageBuildEntity>> {
    const pinned = new Map<string, string>();
    for (const base of admitted.bases) {
      if (pinned.has(base.image)) continue;
      try {
        const resolved = await this.puller.ensure(row.workspaceId, base.image, { onLine: (line) => log.note(line) });
        pinned.set(base.image, resolved.reference);
      } catch (error) {
        const message = `line ${base.line}: "${base.instruction}": ${(error as Error).message}`;
        log.note(message);
        return { status: 'failed', error: message };
      }
    }
    const dockerfile = rewriteBaseImages(admitted.dockerfile.data!.toString('utf8'), pinned);
    const context = await packEntries(admitted.entries.map((e) => (e === admitted.dockerfile ? { ...e, data: Buffer.from(dockerfile, 'utf8') } : e)));
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), IMAGE_BUILD_LIMITS.timeoutMs);
    let result: ImageBuildResult;
    try {
      result = await this.runtime.buildImage(context, {
        tag: row.image,
        dockerfile: admitted.dockerfile.name,
        labels: builtImageLabels(row.workspaceId, row.id),
        cpus: IMAGE_BUILD_LIMITS.cpus,
        memoryBytes: IMAGE_BUILD_LIMITS.memoryBytes,
        shmBytes: IMAGE_BUILD_LIMITS.shmBytes,
        signal: deadline.signal,
        onOutput: (text) => log.append(text),
      });
    } catch (error) {
      if (!deadline.signal.aborted) throw error;
      const message = `the build ran longer than ${IMAGE_BUILD_LIMITS.timeoutMs / 60_000} minutes and was stopped`;
      log.note(message);
      return { status: 'failed', error: message };
    } finally {
      clearTimeout(timer);
    }
    if (result.status === 'failed') return { status: 'failed', error: result.error.slice(0, 2_000) };
    return this.checkSize(row, result.image.id, result.image.sizeBytes, log);
  }

  private async checkSize(row: ImageBuildEntity, digest: string, sizeBytes: number, log: BuildLog): Promise<Partial<ImageBuildEntity>> {
    const { max_size_mb: maxMb } = await this.policies.imagePolicy(row.workspaceId);
    if (maxMb !== undefined && sizeBytes > maxMb * 1024 * 1024) {
      await this.runtime.removeImage(digest, { force: true });
      const message = `the image is ${Math.round(sizeBytes / 1024 / 1024)} MiB, above the policy maximum of ${maxMb} MiB (images.max_size_mb); it was removed`;
      log.note(message);
      return { status: 'failed', error: message };
    }
    log.note(`built ${row.image} (${digest.slice(0, 19)}, ${Math.round(sizeBytes / 1024)} KiB)`);
    return { status: 'succeeded', digest, sizeBytes };
  }

  private async find(workspaceId: string, id: string): Promise<ImageBuildEntity> {
    const row = await this.builds.findOne(workspaceId, { id });
    if (!row) throw notFound('image build', id);
    return this.settleInterrupted(workspaceId, row);
  }

  /** A queued or running build of an earlier server process ended with that process. */
  private async settleInterrupted(workspaceId: string, row: ImageBuildEntity): Promise<ImageBuildEntity> {
    if ((row.status !== 'queued' && row.status !== 'running') || row.runner === this.runner) return row;
    const patch = { status: 'failed' as const, error: INTERRUPTED, finishedAt: new Date() };
    await this.builds.update(workspaceId, { id: row.id, status: row.status }, patch);
    return Object.assign(row, patch);
  }
}

function view(row: ImageBuildEntity): ImageBuildView {
  return {
    id: row.id,
    image: row.image,
    name: row.name,
    tag: row.tag,
    dockerfile: row.dockerfile,
    status: row.status,
    context_bytes: row.contextBytes,
    digest: row.digest,
    size_bytes: row.sizeBytes,
    error: row.error,
    log_truncated: row.logTruncated,
    created_by: row.createdBy,
    created_at: row.createdAt.toISOString(),
    started_at: row.startedAt?.toISOString() ?? null,
    finished_at: row.finishedAt?.toISOString() ?? null,
  };
}
