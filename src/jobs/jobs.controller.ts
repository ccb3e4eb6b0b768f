import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiContentResponse } from 'src/common/decorators/api-content';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { invalidField } from 'src/common/errors/orcaops.error';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import { CreateJobDto } from 'src/jobs/dto/create-job.dto';
import {
  ArtifactListResponseDto,
  JobListResponseDto,
  JobLogsResponseDto,
  JobResponseDto,
  JobSummaryResponseDto,
} from 'src/jobs/dto/job-response.dto';
import { JobLogsQueryDto, ListJobsQueryDto, WaitJobQueryDto } from 'src/jobs/dto/list-jobs.dto';
import { JobsService } from 'src/jobs/jobs.service';
import { clientGone, openEventStream, wantsEventStream } from 'src/common/http/event-stream';
import { CountsAsStream } from 'src/streams/stream-slots';
import { TenantContext } from 'src/tenancy/tenant-context';

function idempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length < 1 || value.length > 128) {
    throw invalidField('Idempotency-Key', 'must be 1–128 characters');
  }
  return value;
}

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('v1/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Post()
  @RequirePermission('job:create')
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'A retried submit with the same key returns the same job' })
  @ApiOperation({
    operationId: 'createJob',
    summary: 'Run code in a locked-down container',
    description:
      'Queues a job: its steps run in order in one fresh container (no network unless allowed, read-only root, ' +
      'resource limits). Returns at once with status "running" (started on a free slot) or "queued"; follow it ' +
      'with getJob, waitJob or getJobLogs.',
  })
  async create(
    @Tenant() ctx: TenantContext,
    @Body() dto: CreateJobDto,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobResponseDto> {
    const result = await this.jobs.submit(ctx, dto, idempotencyKey(key));
    void reply.status(result.replayed ? 200 : 201);
    return result.job;
  }

  @Get()
  @RequirePermission('job:read')
  @ApiOperation({ operationId: 'listJobs', summary: 'Jobs of this workspace, newest first' })
  list(@Tenant() ctx: TenantContext, @Query() q: ListJobsQueryDto): Promise<JobListResponseDto> {
    return this.jobs.list(ctx, {
      status: q.status,
      tag: q.tag,
      image: q.image,
      sessionId: q.session_id,
      since: q.since ? new Date(q.since) : undefined,
      until: q.until ? new Date(q.until) : undefined,
      cursor: q.cursor,
      limit: q.limit ?? 50,
    });
  }

  @Get(':jobId')
  @RequirePermission('job:read')
  @ApiOperation({ operationId: 'getJob', summary: 'A job and its run record' })
  get(@Tenant() ctx: TenantContext, @Param('jobId', idOf('job')) id: string): Promise<JobResponseDto> {
    return this.jobs.get(ctx, id);
  }

  @Get(':jobId/wait')
  @RequirePermission('job:read')
  @CountsAsStream()
  @ApiOperation({ operationId: 'waitJob', summary: 'Wait until the job ends (or the timeout passes) and return it' })
  wait(
    @Tenant() ctx: TenantContext,
    @Param('jobId', idOf('job')) id: string,
    @Query() q: WaitJobQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobResponseDto> {
    return this.jobs.wait(ctx, id, (q.timeout_seconds ?? 60) * 1000, clientGone(reply));
  }

  @Post(':jobId/cancel')
  @HttpCode(200)
  @RequirePermission('job:cancel')
  @ApiOperation({ operationId: 'cancelJob', summary: 'Cancel a queued or running job (its container is killed)' })
  cancel(@Tenant() ctx: TenantContext, @Param('jobId', idOf('job')) id: string): Promise<JobResponseDto> {
    return this.jobs.cancel(ctx, id);
  }

  @Delete(':jobId')
  @HttpCode(204)
  @RequirePermission('job:delete')
  @ApiOperation({ operationId: 'deleteJob', summary: 'Delete a finished job, its output and artifacts' })
  async remove(@Tenant() ctx: TenantContext, @Param('jobId', idOf('job')) id: string): Promise<void> {
    await this.jobs.delete(ctx, id);
  }

  @Get(':jobId/logs')
  @RequirePermission('job:read')
  @CountsAsStream('event_stream')
  @ApiContentResponse(200, 'A page of output (JSON), the output as text (format=text), or a live event stream', JobLogsResponseDto, {
    'text/plain': { kind: 'text', description: 'The output of the selected chunks, concatenated (format=text)' },
    'text/event-stream': { kind: 'text', description: 'Server-Sent Events: "status", then "output" events (id = chunk seq), then one "end" event' },
  })
  @ApiOperation({
    operationId: 'getJobLogs',
    summary: 'Output of a job: a page, the tail, plain text, or a live Server-Sent Events stream',
    description:
      'JSON pages by default (after, limit, tail). format=text returns the output as text. With ' +
      'Accept: text/event-stream or follow=true, streams "output" events from the first byte (resumable with ' +
      'Last-Event-ID) and ends with an "end" event carrying the final status.',
  })
  async logs(
    @Tenant() ctx: TenantContext,
    @Param('jobId', idOf('job')) id: string,
    @Query() q: JobLogsQueryDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (wantsEventStream(request, q.follow)) return this.stream(ctx, id, q, request, reply);
    const page: JobLogsResponseDto = await this.jobs.readLogs(ctx, id, q);
    if (q.format === 'text') {
      await reply.type('text/plain; charset=utf-8').send(page.items.map((c) => c.data).join(''));
      return;
    }
    await reply.send(page);
  }

  private async stream(
    ctx: TenantContext,
    id: string,
    q: JobLogsQueryDto,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    await this.jobs.get(ctx, id); // a missing job answers 404 before the stream starts
    const header = request.headers['last-event-id'];
    const lastEventId = Number(typeof header === 'string' ? header : (q.after ?? 0)) || 0;
    const sse = openEventStream(request, reply);
    try {
      // Awaiting each send pauses the database reads while the reader is behind (backpressure).
      for await (const event of this.jobs.streamLogs(ctx, id, lastEventId, clientGone(reply))) {
        await sse.send(event.event, event.data, event.id);
        if (sse.closed) break;
      }
    } finally {
      sse.end();
    }
  }

  @Get(':jobId/summary')
  @RequirePermission('job:read')
  @ApiOperation({
    operationId: 'getJobSummary',
    summary: "What a finished job's output says went wrong",
    description:
      'One line, the output lines that support it (with line numbers) and a suggestion when the cause is known ' +
      '(a missing module, a path that does not exist, the memory limit). OOM kills and timeouts come from the run ' +
      'record. 409 while the job has not ended. Secrets are masked.',
  })
  summary(@Tenant() ctx: TenantContext, @Param('jobId', idOf('job')) id: string): Promise<JobSummaryResponseDto> {
    return this.jobs.summary(ctx, id);
  }

  @Get(':jobId/artifacts')
  @RequirePermission('job:read')
  @ApiOperation({ operationId: 'listJobArtifacts', summary: 'Files collected from the job' })
  async artifacts(@Tenant() ctx: TenantContext, @Param('jobId', idOf('job')) id: string): Promise<ArtifactListResponseDto> {
    return { items: await this.jobs.listArtifacts(ctx, id) };
  }

  @Get(':jobId/artifacts/:name')
  @RequirePermission('job:read')
  @ApiContentResponse(200, 'The artifact (Content-Type as stored; X-OrcaOps-Sha256 carries its digest)', undefined, {
    'application/octet-stream': { kind: 'binary', description: 'The artifact, byte for byte' },
  })
  @ApiOperation({ operationId: 'downloadJobArtifact', summary: 'Download one artifact (URL-encode "/" in names)' })
  async download(
    @Tenant() ctx: TenantContext,
    @Param('jobId', idOf('job')) id: string,
    @Param('name') name: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { artifact, body } = await this.jobs.openArtifact(ctx, id, name);
    const filename = (artifact.name.split('/').pop() ?? 'artifact').replace(/[^A-Za-z0-9._-]/g, '_');
    await reply
      .header('content-type', artifact.content_type)
      .header('content-length', String(artifact.size_bytes))
      .header('content-disposition', `attachment; filename="${filename}"`)
      .header('x-content-type-options', 'nosniff')
      .header('x-orcaops-sha256', artifact.sha256)
      .send(body);
  }
}
