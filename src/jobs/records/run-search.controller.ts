import { Body, Controller, Get, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { ApiContentResponse } from 'src/common/decorators/api-content';
import { DeleteJobsByQueryDto, DeleteJobsByQueryResponseDto, ExportJobsQueryDto, RunSearchResponseDto, RunSummaryDto, SearchJobsQueryDto } from 'src/jobs/dto/search-jobs.dto';
import { RunSearchService } from 'src/jobs/records/run-search.service';
import { CSV_COLUMNS, csvLine } from 'src/jobs/records/run-summary';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { TenantContext } from 'src/tenancy/tenant-context';

async function* jsonLines(rows: AsyncIterable<RunSummaryDto>): AsyncGenerator<string> {
  for await (const row of rows) yield `${JSON.stringify(row)}\n`;
}

async function* csvLines(rows: AsyncIterable<RunSummaryDto>): AsyncGenerator<string> {
  yield csvLine(CSV_COLUMNS);
  for await (const row of rows) yield csvLine(CSV_COLUMNS.map((c) => row[c]));
}

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('v1/jobs')
export class RunSearchController {
  constructor(private readonly search: RunSearchService) {}

  @Get('search')
  @RequirePermission('job:read')
  @ApiOperation({
    operationId: 'searchJobs',
    summary: 'Search run records with a query (filters and output text), newest first',
    description:
      'q: space-separated terms, all required — status:failed,timed_out reason:oom_killed image:orcaops/python* fingerprint:<hex prefix> ' +
      'tag:x triggered_by:x session:<id> exit>0 duration>30s since:7d until:2026-12-01 meta.KEY:value, and quoted or bare text ' +
      'the output must contain ("Traceback"). A malformed query is a 400 whose details give position, token and expected.',
  })
  searchRuns(@Tenant() ctx: TenantContext, @Query() q: SearchJobsQueryDto): Promise<RunSearchResponseDto> {
    return this.search.search(ctx, q.q ?? '', q.cursor, q.limit ?? 50);
  }

  @Get('export')
  @RequirePermission('job:read')
  @ApiContentResponse(200, 'Matching run records, streamed', undefined, {
    'application/x-ndjson': { kind: 'text', description: 'One RunSummaryDto as JSON per line (format=jsonl)' },
    'text/csv': { kind: 'text', description: 'A header line, then one run per line (format=csv)' },
  })
  @ApiOperation({ operationId: 'exportJobs', summary: 'Every run matching a query as JSON lines or CSV (newest first, streamed, at most 100000)' })
  async exportRuns(@Tenant() ctx: TenantContext, @Query() q: ExportJobsQueryDto, @Res() reply: FastifyReply): Promise<void> {
    const rows = this.search.exportRuns(ctx, q.q ?? '', q.limit);
    if (q.format === 'csv') {
      await reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="runs.csv"').send(Readable.from(csvLines(rows)));
      return;
    }
    await reply.type('application/x-ndjson; charset=utf-8').send(Readable.from(jsonLines(rows)));
  }

  @Post('delete-by-query')
  @HttpCode(200)
  @RequirePermission('workspace:admin')
  @ApiOperation({
    operationId: 'deleteJobsByQuery',
    summary: 'Delete finished runs matching a query (admins; at most 1000 per call, audited)',
    description: 'Jobs not finished are left. dry_run counts without deleting. more=true: call again for the rest.',
  })
  deleteByQuery(@Tenant() ctx: TenantContext, @Body() dto: DeleteJobsByQueryDto): Promise<DeleteJobsByQueryResponseDto> {
    return this.search.deleteByQuery(ctx, dto.q, dto.dry_run ?? false);
  }
}
