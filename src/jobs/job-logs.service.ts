import { retryWhileDatabaseDown } from 'src/common/database-connection';
import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { MoreThan } from 'typeorm';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobLogChunkEntity } from 'src/jobs/entities/job-log-chunk.entity';
import { JobEvents } from 'src/jobs/job-events';
import { MaskingStream, SecretMasker } from 'src/common/masking/secret-masker';

export const DEFAULT_OUTPUT_CAP_BYTES = 10 * 1024 * 1024;
const FLUSH_INTERVAL_MS = 100;
const FLUSH_BYTES = 64 * 1024;

type Stream = JobLogChunkEntity['stream'];

/** What a job's stored output already holds: a writer re-opened on it (a re-attached job) continues after it. */
export interface StoredOutput {
  /** The last chunk's seq (0: none). */
  seq: number;
  /** Bytes stored per output stream (system lines are not output). */
  stdout: number;
  stderr: number;
}

interface Pending {
  step: number;
  stream: Stream;
  parts: Buffer[];
  bytes: number;
}

/**
 * Stores one job's output as it arrives: batched (every 100 ms or 64 KiB), capped (then a
 * `truncated` flag and one system line), in order. Readers are notified after each write.
 */
export class JobLogWriter {
  private readonly logger = new Logger('JobLogWriter');
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private seq = 0;
  private stored = 0;
  /** Bytes handed to a flush that has not landed yet (held in memory while the database is down). */
  private inflight = 0;
  emitted = 0;
  truncated = false;
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  /** Secret values in the output become *** before anything is stored (and so before SSE, summaries, MCP results). */
  private masker = SecretMasker.none;
  private readonly maskStreams = new Map<string, { step: number; stream: Stream; masking: MaskingStream }>();
  /**
   * Re-opened on a re-attached job: the engine replays the container's output from its start, and these
   * many bytes of it per stream are stored already. Counted after masking, because what is stored is
   * masked: skipping raw bytes instead would cut a masked value's replay in the middle and store its end.
   */
  private readonly skip = { stdout: 0, stderr: 0 };

  constructor(
    private readonly chunks: TenantScopedRepository<JobLogChunkEntity>,
    private readonly events: JobEvents,
    private readonly workspaceId: string,
    private readonly jobId: string,
    private readonly capBytes: number,
    resume?: StoredOutput,
  ) {
    if (resume) {
      this.seq = resume.seq;
      this.stored = resume.stdout + resume.stderr;
      this.emitted = this.stored;
      this.truncated = this.stored >= capBytes;
      this.skip.stdout = resume.stdout;
      this.skip.stderr = resume.stderr;
    }
  }

  /** Masks these secrets in everything written from now on (the job's own secrets, opened at start). */
  mask(masker: SecretMasker): void {
    this.masker = masker;
  }

  write(step: number, stream: Stream, raw: Buffer): void {
    const replayed = stream === 'stdout' || stream === 'stderr' ? this.skip[stream] : 0;
    // Replayed output was counted when it was first written.
    if (!replayed) this.emitted += raw.length;
    if (this.truncated && !replayed) return;
    let data = this.masked(step, stream, raw);
    if (replayed) {
      const skipped = Math.min(replayed, data.length);
      this.skip[stream as 'stdout' | 'stderr'] -= skipped;
      data = data.subarray(skipped);
      this.emitted += data.length;
      if (this.truncated) return;
    }
    if (!data.length) return;
    this.store(step, stream, data);
  }

  /**
   * Stores the bytes every stream still holds back (a value's possible start that never completed).
   * Called before a system line and at the end, and for earlier steps when a new step writes, so the
   * order of the log stays as the job wrote it.
   */
  private release(except?: number): void {
    for (const [key, held] of this.maskStreams) {
      if (held.step === except) continue;
      this.maskStreams.delete(key);
      const rest = held.masking.end();
      if (rest.length && !this.truncated) this.store(held.step, held.stream, rest);
    }
  }

  private masked(step: number, stream: Stream, data: Buffer): Buffer {
    if (this.masker.empty) return data;
    this.release(step);
    const key = `${step}:${stream}`;
    let held = this.maskStreams.get(key);
    if (!held) this.maskStreams.set(key, (held = { step, stream, masking: this.masker.stream() }));
    return held.masking.push(data);
  }

  private store(step: number, stream: Stream, data: Buffer): void {
    let part = data;
    if (this.stored + this.inflight + this.pendingBytes + part.length > this.capBytes) {
      part = part.subarray(0, Math.max(0, this.capBytes - this.stored - this.inflight - this.pendingBytes));
      this.truncated = true;
    }
    if (part.length) this.append(step, stream, part);
    if (this.truncated) this.append(-1, 'system', Buffer.from(`[orcaops] output truncated at ${this.capBytes} bytes\n`));
    if (this.pendingBytes >= FLUSH_BYTES) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  system(message: string): void {
    this.release();
    this.append(-1, 'system', Buffer.from(`[orcaops] ${this.masker.maskText(message)}\n`));
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  private append(step: number, stream: Stream, data: Buffer): void {
    const last = this.pending[this.pending.length - 1];
    if (last && last.step === step && last.stream === stream) {
      last.parts.push(data);
      last.bytes += data.length;
    } else {
      this.pending.push({ step, stream, parts: [data], bytes: data.length });
    }
    this.pendingBytes += data.length;
  }

  /** The last write: what masking held back, then everything buffered. */
  end(): Promise<void> {
    this.release();
    return this.flush();
  }

  /** Writes what is buffered; flushes are serialised so seq stays in order. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    // Counted like `stored` (system lines are not output), so the cap means the same with or without a flush in flight.
    const batchBytes = batch.reduce((n, p) => n + (p.stream === 'system' ? 0 : p.bytes), 0);
    this.pending = [];
    this.inflight += batchBytes;
    this.pendingBytes = 0;
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing.then(async () => {
      const rows = batch.map((p) => ({
        id: randomUUID(),
        jobId: this.jobId,
        seq: ++this.seq,
        step: p.step,
        stream: p.stream,
        data: Buffer.concat(p.parts),
      }));
      try {
        // A lost connection is retried until the database is back: the batch stays in memory, bounded by
        // the job's output cap (nothing is counted as stored before it is).
        await retryWhileDatabaseDown(() => this.chunks.insertMany(this.workspaceId, rows), {
          onRetry: (error, attempt) => attempt === 1 && this.logger.warn({ msg: 'database unreachable; holding job output until it is back', jobId: this.jobId, err: String(error) }),
        });
        this.stored += rows.reduce((n, r) => n + (r.stream === 'system' ? 0 : r.data.length), 0);
      } catch (error) {
        this.logger.error({ msg: 'log write failed', jobId: this.jobId, err: String(error) });
      } finally {
        this.inflight -= batchBytes;
      }
      this.events.progress(this.jobId);
    });
    return this.flushing;
  }
}

@Injectable()
export class JobLogsService {
  constructor(
    @InjectScopedRepository(JobLogChunkEntity) private readonly chunks: TenantScopedRepository<JobLogChunkEntity>,
    private readonly events: JobEvents,
  ) {}

  openWriter(workspaceId: string, jobId: string, capBytes = DEFAULT_OUTPUT_CAP_BYTES, resume?: StoredOutput): JobLogWriter {
    return new JobLogWriter(this.chunks, this.events, workspaceId, jobId, capBytes, resume);
  }

  /** What the job's stored output holds so far (a server re-attaching to its container continues after it). */
  async stored(workspaceId: string, jobId: string): Promise<StoredOutput> {
    const rows: Array<{ stream: Stream; bytes: string | null; seq: number | null }> = await this.chunks
      .queryBuilder(workspaceId, 'c')
      .andWhere('c.job_id = :jobId', { jobId })
      .select('c.stream', 'stream')
      .addSelect('sum(length(c.data))', 'bytes')
      .addSelect('max(c.seq)', 'seq')
      .groupBy('c.stream')
      .getRawMany();
    const bytes = (stream: Stream): number => Number(rows.find((r) => r.stream === stream)?.bytes ?? 0);
    return { seq: Math.max(0, ...rows.map((r) => Number(r.seq ?? 0))), stdout: bytes('stdout'), stderr: bytes('stderr') };
  }

  /** Chunks after `after` (seq), in order, of the job in this workspace. */
  read(workspaceId: string, jobId: string, after: number, limit: number): Promise<JobLogChunkEntity[]> {
    return this.chunks.find(workspaceId, { where: { jobId, seq: MoreThan(after) }, order: { seq: 'ASC' }, take: limit });
  }

  /** The last `count` chunks, in order. */
  async tail(workspaceId: string, jobId: string, count: number): Promise<JobLogChunkEntity[]> {
    const rows = await this.chunks.find(workspaceId, { where: { jobId }, order: { seq: 'DESC' }, take: count });
    return rows.reverse();
  }

  /** The last `bytes` of a stream, as text (for summaries, MCP results and the CLI). */
  async tailText(workspaceId: string, jobId: string, stream: 'stdout' | 'stderr', bytes: number): Promise<string> {
    const rows = await this.chunks.find(workspaceId, { where: { jobId, stream }, order: { seq: 'DESC' }, take: 200 });
    const parts: Buffer[] = [];
    let total = 0;
    for (const row of rows) {
      parts.unshift(row.data);
      total += row.data.length;
      if (total >= bytes) break;
    }
    const all = Buffer.concat(parts);
    return all.subarray(Math.max(0, all.length - bytes)).toString('utf8');
  }
}
