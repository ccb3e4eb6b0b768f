import { SecretMasker } from 'src/common/masking/secret-masker';
import type { TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import type { JobLogChunkEntity } from 'src/jobs/entities/job-log-chunk.entity';
import type { JobEvents } from 'src/jobs/job-events';
import { JobLogWriter } from 'src/jobs/job-logs.service';

type Row = Pick<JobLogChunkEntity, 'seq' | 'stream' | 'data'>;

/** A writer over an in-memory chunk table (the writer only inserts). */
function writerOver(rows: Row[], resume?: { seq: number; stdout: number; stderr: number }): JobLogWriter {
  const chunks = { insertMany: (_ws: string, batch: Row[]) => Promise.resolve(void rows.push(...batch)) } as unknown as TenantScopedRepository<JobLogChunkEntity>;
  const events = { progress: () => undefined } as unknown as JobEvents;
  return new JobLogWriter(chunks, events, 'w', 'j', 1024 * 1024, resume);
}

const text = (rows: Row[], stream: string): string => Buffer.concat(rows.filter((r) => r.stream === stream).map((r) => r.data)).toString('utf8');

describe('JobLogWriter re-opened on a re-attached job (masked output)', () => {
  const VALUE = 'hunter2-correct-horse';
  const masker = new SecretMasker([VALUE]);
  const before = `token=${VALUE}\nb64=${Buffer.from(VALUE).toString('base64')}\n`;
  const after = `again ${VALUE} done\n`;

  it('skips the replayed output by its masked length, so no part of a value is stored after the restart', async () => {
    const rows: Row[] = [];
    const first = writerOver(rows);
    first.mask(masker);
    // The value arrives split across two chunks.
    first.write(0, 'stdout', Buffer.from(before.slice(0, 10)));
    first.write(0, 'stdout', Buffer.from(before.slice(10)));
    first.write(0, 'stderr', Buffer.from(`err ${VALUE}\n`));
    // Shutdown with the container left running: flushed, not ended.
    await first.flush();
    const stored = { seq: Math.max(...rows.map((r) => r.seq)), stdout: text(rows, 'stdout').length, stderr: text(rows, 'stderr').length };
    expect(stored.stdout).toBeLessThan(Buffer.byteLength(before));

    // The next server: the engine replays everything from the container's start, in other chunk sizes.
    const second = writerOver(rows, stored);
    second.mask(masker);
    const replay = before + after;
    for (let at = 0; at < replay.length; at += 7) second.write(0, 'stdout', Buffer.from(replay.slice(at, at + 7)));
    second.write(0, 'stderr', Buffer.from(`err ${VALUE}\nlate\n`));
    await second.end();

    expect(text(rows, 'stdout')).toBe('token=***\nb64=***\nagain *** done\n');
    expect(text(rows, 'stderr')).toBe('err ***\nlate\n');
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    // The replay is not counted twice (output bytes count what the job wrote, raw, once).
    expect(second.emitted).toBeGreaterThan(stored.stdout + stored.stderr);
    expect(second.emitted).toBeLessThanOrEqual(stored.stdout + stored.stderr + Buffer.byteLength(after) + Buffer.byteLength('late\n'));
  });

  it('without secrets skips exactly the stored bytes (as before)', async () => {
    const rows: Row[] = [];
    const second = writerOver(rows, { seq: 3, stdout: 4, stderr: 0 });
    second.write(0, 'stdout', Buffer.from('one\ntwo\n'));
    await second.end();
    expect(text(rows, 'stdout')).toBe('two\n');
    expect(rows[0]!.seq).toBe(4);
  });
});
