import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { encodeCursor } from 'src/common/pagination/keyset-cursor';
import { isStatementTimeout, setLocalStatementTimeout } from 'src/database/statement-timeout';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { RunSearchResponseDto, RunSummaryDto } from 'src/jobs/dto/search-jobs.dto';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { TERMINAL_STATUSES } from 'src/jobs/job-model';
import { jobsConfig } from 'src/jobs/jobs.config';
import { JobsService } from 'src/jobs/jobs.service';
import { applyRunQuery, pageAfter } from 'src/jobs/records/run-search';
import { parseRunQuery, RunQuery, RunQueryError } from 'src/jobs/records/run-query';
import { toRunSummary } from 'src/jobs/records/run-summary';
import { assertPermission } from 'src/tenancy/assert-permission';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';
import { TenantContext } from 'src/tenancy/tenant-context';

const EXPORT_PAGE = 500;
/** The columns a RunSummaryDto needs: not the spec, steps or approval (jsonb the list does not show). */
const SUMMARY_COLUMNS = [
  'id', 'status', 'reason', 'exitCode', 'image', 'fingerprint', 'tags', 'triggeredBy', 'sessionId', 'metadata', 'createdAt', 'startedAt',
  'finishedAt', 'cpuSeconds', 'memoryPeakBytes', 'blockReadBytes', 'blockWriteBytes', 'pidsPeak', 'outputBytes', 'outputTruncated',
].map((c) => `j.${c}`);

/** Search, export and delete-by-query over run records (docs/run-records.md#search). */
@Injectable()
export class RunSearchService {
  constructor(
    @InjectScopedRepository(JobEntity) private readonly jobs: TenantScopedRepository<JobEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(jobsConfig.KEY) private readonly config: ConfigType<typeof jobsConfig>,
    private readonly jobsService: JobsService,
    private readonly audit: AuditService,
  ) {}

  /** A page of runs matching `q`, newest first. A malformed query is a 400 naming the token. */
  async search(ctx: TenantContext, q: string, cursor: string | undefined, limit: number): Promise<RunSearchResponseDto> {
    assertPermission(ctx, 'job:read');
    const { workspaceId } = requireWorkspace(ctx);
    const query = parse(q);
    const rows = await this.page(workspaceId, query, cursor, limit);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(toRunSummary), next_cursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  /**
   * Every run matching `q` (at most `limit`, bounded by exportMaxRows), read in keyset pages so memory
   * stays bounded however long the export. The query is parsed before the first row (a 400, not a broken stream).
   */
  exportRuns(ctx: TenantContext, q: string, limit?: number): AsyncGenerator<RunSummaryDto> {
    assertPermission(ctx, 'job:read');
    const { workspaceId } = requireWorkspace(ctx);
    const query = parse(q);
    const max = Math.min(limit ?? this.config.exportMaxRows, this.config.exportMaxRows);
    return this.exportPages(workspaceId, query, max);
  }

  /**
   * Deletes finished jobs matching `q` (admins; at most bulkDeleteMax per call, the newest first), with
   * their output and artifacts, audited as one event carrying the query and the count.
   */
  async deleteByQuery(ctx: TenantContext, q: string, dryRun: boolean): Promise<{ deleted: number; more: boolean; dry_run: boolean }> {
    assertPermission(ctx, 'workspace:admin');
    const { workspaceId } = requireWorkspace(ctx);
    const query = parse(q);
    // A query with no condition would delete every run: refused, so a slip of the keyboard cannot.
    if (!query.filters.length && !query.text.length) throw new OrcaOpsError('bad_request', 'delete-by-query needs at least one filter or search text', { position: 0, expected: 'a filter such as status:failed or since:30d' });
    const max = this.config.bulkDeleteMax;
    const matched = await this.withSearchTimeout(query, (manager) =>
      applyRunQuery(this.jobs.withManager(manager).queryBuilder(workspaceId, 'j'), workspaceId, query)
        .andWhere('j.status IN (:...done)', { done: [...TERMINAL_STATUSES] })
        .select('j.id', 'id')
        .orderBy('j.created_at', 'DESC')
        .limit(max + 1)
        .getRawMany<{ id: string }>(),
    );
    const ids = matched.slice(0, max).map((r) => r.id);
    const more = matched.length > max;
    if (dryRun) return { deleted: ids.length, more, dry_run: true };
    const deleted = await this.dataSource.transaction(async (manager) => {
      const gone = await this.jobsService.deleteFinished(manager, workspaceId, ids);
      await this.audit.record(ctx, { action: 'job.bulk_delete', resourceType: 'job', details: { query: q, deleted: gone.length, more } }, manager);
      return gone;
    });
    await this.jobsService.deleteStored(workspaceId, deleted);
    return { deleted: deleted.length, more, dry_run: false };
  }

  private async *exportPages(workspaceId: string, query: RunQuery, max: number): AsyncGenerator<RunSummaryDto> {
    let cursor: string | undefined;
    let sent = 0;
    while (sent < max) {
      const size = Math.min(EXPORT_PAGE, max - sent);
      const rows = await this.page(workspaceId, query, cursor, size);
      const page = rows.slice(0, size);
      for (const row of page) yield toRunSummary(row);
      sent += page.length;
      const last = page[page.length - 1];
      if (rows.length <= size || !last) return;
      cursor = encodeCursor(last.createdAt, last.id);
    }
  }

  private page(workspaceId: string, query: RunQuery, cursor: string | undefined, limit: number): Promise<JobEntity[]> {
    return this.withSearchTimeout(query, (manager) =>
      pageAfter(applyRunQuery(this.jobs.withManager(manager).queryBuilder(workspaceId, 'j').select(SUMMARY_COLUMNS), workspaceId, query), cursor, limit).getMany(),
    );
  }

  /**
   * Output search reads the log index and can be made expensive (a common word over millions of
   * chunks): it runs under a statement timeout and a timeout is a clear 503, not a hung request.
   */
  private async withSearchTimeout<T>(query: RunQuery, read: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!query.text.length) return read(this.dataSource.manager);
    const ms = this.config.searchTimeoutMs;
    try {
      return await this.dataSource.transaction(async (manager) => {
        await setLocalStatementTimeout(manager, ms);
        return read(manager);
      });
    } catch (error) {
      if (isStatementTimeout(error)) {
        throw new OrcaOpsError('service_unavailable', `The output search took longer than ${ms} ms and was stopped; narrow it with filters (since:7d, status:failed, image:…) or a longer, rarer text`, {
          reason: 'search_timeout',
          timeout_ms: ms,
        });
      }
      throw error;
    }
  }
}

function parse(q: string): RunQuery {
  try {
    return parseRunQuery(q);
  } catch (error) {
    if (error instanceof RunQueryError) {
      throw new OrcaOpsError('bad_request', `Invalid query ${error.message}`, { position: error.position, token: error.token, expected: error.expected });
    }
    throw error;
  }
}
