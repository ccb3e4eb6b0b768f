import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { packEntries, readHostileTar } from 'src/common/hostile-tar';
import { notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { QuotasService } from 'src/quotas/quotas.service';
import { ARTIFACT_STORAGE, ArtifactStorage } from 'src/storage/artifact-storage.port';
import { assertPermission } from 'src/tenancy/assert-permission';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';
import { TenantContext } from 'src/tenancy/tenant-context';
import { WorkflowSourceEntity } from 'src/workflows/entities/workflow-source.entity';

export const SOURCE_LIMITS = {
  maxBytes: 64 * 1024 * 1024,
  maxEntries: 20_000,
  /** Unused sources older than this are removed (a run that is still running keeps its source). */
  retentionMs: 7 * 24 * 3_600_000,
} as const;
const RETENTION_EVERY_MS = 3_600_000;

export interface SourceView {
  source_id: string;
  size_bytes: number;
  sha256: string;
  files: number;
}

/**
 * Source directories uploaded for workflow runs (an uncompressed tar): validated with the hostile-tar
 * rules (regular files and directories with relative names; anything else refuses the whole upload),
 * re-packed and stored under a server-generated key. Tenant-scoped; the retention sweep is a system
 * task over every workspace (the documented exemption from scoped repositories).
 */
@Injectable()
export class WorkflowSourcesService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WorkflowSources');
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectScopedRepository(WorkflowSourceEntity) private readonly sources: TenantScopedRepository<WorkflowSourceEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(ARTIFACT_STORAGE) private readonly storage: ArtifactStorage,
    private readonly audit: AuditService,
    private readonly quotas: QuotasService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.removeExpired().catch((err) => this.logger.warn({ msg: 'source retention failed', err: String(err) })), RETENTION_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async upload(ctx: TenantContext, tar: Buffer): Promise<SourceView> {
    assertPermission(ctx, 'workflow:create');
    const { workspaceId } = requireWorkspace(ctx);
    if (tar.length > SOURCE_LIMITS.maxBytes) throw tooLarge();
    // Quotas workflow_sources / workflow_source_bytes: checked before the bytes are parsed and stored,
    // and again (authoritatively, under the workspace's admission lock) with the row's insert.
    await this.quotas.admitWorkflowSource(ctx, workspaceId, tar.length, () => Promise.resolve());
    const tree = await readHostileTar(tar, { maxEntries: SOURCE_LIMITS.maxEntries, maxFileBytes: SOURCE_LIMITS.maxBytes, maxTotalBytes: SOURCE_LIMITS.maxBytes }, { directories: 'keep', absoluteNames: 'refuse' }).catch((error: Error) => {
      throw new OrcaOpsError('bad_request', `not a valid uncompressed tar archive: ${error.message}`);
    });
    if (tree.rejected.length) {
      throw new OrcaOpsError('bad_request', `the source has ${tree.rejected.length} entries that cannot be used (only regular files and directories with relative names)`, {
        rejected: tree.rejected.slice(0, 50),
      });
    }
    const id = randomUUID();
    const storageKey = `${workspaceId}/sources/${id}`;
    await this.storage.put(storageKey, await packEntries(tree.entries));
    const files = tree.entries.filter((e) => e.type === 'file').length;
    const sha256 = createHash('sha256').update(tar).digest('hex');
    try {
      await this.quotas.admitWorkflowSource(ctx, workspaceId, tar.length, async (manager) => {
        await this.sources.withManager(manager).insert(workspaceId, { id, sizeBytes: tar.length, sha256, files, storageKey });
        await this.audit.record(ctx, { action: 'workflow.source.upload', resourceType: 'workflow_source', resourceId: id, details: { bytes: tar.length, files } }, manager);
      });
    } catch (error) {
      // Refused by a concurrent upload that took the last of the quota, or the insert failed: drop the bytes.
      await this.storage.deletePrefix(storageKey).catch(() => undefined);
      throw error;
    }
    return { source_id: id, size_bytes: tar.length, sha256, files };
  }

  /** The source a submit names, in the caller's workspace (another workspace's id is not found). */
  async require(ctx: TenantContext, id: string): Promise<WorkflowSourceEntity> {
    const { workspaceId } = requireWorkspace(ctx);
    const source = await this.sources.findOne(workspaceId, { id });
    if (!source) throw notFound('workflow source', id);
    return source;
  }

  /** The stored (validated, re-packed) tar of a run's source; undefined once retention removed it. */
  async open(workspaceId: string, id: string): Promise<Readable | undefined> {
    const source = await this.sources.findOne(workspaceId, { id });
    return source ? this.storage.open(source.storageKey) : undefined;
  }

  /** Removes sources past retention that no running run uses. */
  async removeExpired(now = Date.now()): Promise<number> {
    const rows: Array<{ id: string; workspace_id: string; storage_key: string }> = await this.dataSource.query(
      `SELECT s.id, s.workspace_id, s.storage_key FROM workflow_sources s
        WHERE s.created_at < $1
          AND NOT EXISTS (SELECT 1 FROM workflow_runs r WHERE r.source_id = s.id AND r.workspace_id = s.workspace_id AND r.status = 'running')
        LIMIT 500`,
      [new Date(now - SOURCE_LIMITS.retentionMs)],
    );
    for (const row of rows) {
      await this.storage.deletePrefix(row.storage_key);
      await this.sources.delete(row.workspace_id, { id: row.id });
    }
    if (rows.length) this.logger.log({ msg: 'retention removed workflow sources', count: rows.length });
    return rows.length;
  }
}

function tooLarge(): OrcaOpsError {
  return new OrcaOpsError('payload_too_large', `a workflow source is limited to ${SOURCE_LIMITS.maxBytes} bytes (uncompressed tar)`, { limit_bytes: SOURCE_LIMITS.maxBytes });
}
