import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditEventEntity } from 'src/audit/entities/audit-event.entity';
import { buildDataSourceOptions } from 'src/database/data-source-options';
import { In, Not } from 'typeorm';
import { findRow, insertRow, isPlainWhere, updateRows } from 'src/database/row-statements';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { createTestDatabase } from '../support/database';

/** insertRow writes what TypeORM's save() would, and reads back what save() would leave in the entity. */
describe('row statements from entity metadata (insertRow, updateRows, findRow)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  const workspaceId = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await new DataSource(buildDataSourceOptions(db.url)).initialize();
    await ds.query(`INSERT INTO workspaces (id, name, settings) VALUES ($1, 'insert-row', '{}')`, [workspaceId]);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('round-trips jsonb objects and arrays, text arrays, bigint transformers and nulls; defaults come back', async () => {
    const id = randomUUID();
    const spec = { image: 'busybox', steps: [{ command: 'echo "x"' }], env: { A: '1' } } as unknown as JobEntity['spec'];
    const inserted = await insertRow(ds.getRepository(JobEntity), {
      id,
      workspaceId,
      status: 'queued',
      spec,
      image: 'busybox',
      tags: ['a', 'b,c', 'd"e'],
      metadata: { nested: { n: 1 } },
      requestHash: 'h',
      createdBy: 'tester',
      steps: [],
      memoryPeakBytes: 5_000_000_000,
      cleanupPolicy: 'remove_on_completion',
      containerState: 'none',
    });
    // Database defaults (timestamps, output_bytes) come back; unset nullable columns read as null.
    expect(inserted.createdAt).toBeInstanceOf(Date);
    expect(inserted.updatedAt).toBeInstanceOf(Date);
    expect(inserted.outputBytes).toBe(0);
    expect(inserted.outputTruncated).toBe(false);
    expect(inserted.exitCode).toBeNull();
    expect(inserted.sessionId).toBeNull();
    const read = await ds.getRepository(JobEntity).findOneByOrFail({ id });
    expect(read).toEqual(inserted);
    // findRow hydrates what TypeORM's findOne does (class instance, transformers, dates, nulls).
    const found = await findRow(ds.getRepository(JobEntity), { id, workspaceId, status: In(['queued']), exitCode: null });
    expect(found).toBeInstanceOf(JobEntity);
    expect(found).toEqual(read);
    expect(await findRow(ds.getRepository(JobEntity), { id, workspaceId: randomUUID() })).toBeNull();
    expect(read).toMatchObject({ spec, tags: ['a', 'b,c', 'd"e'], steps: [], metadata: { nested: { n: 1 } }, memoryPeakBytes: 5_000_000_000 });
    const raw = await ds.query(`SELECT jsonb_typeof(steps) AS steps, memory_peak_bytes::text AS peak FROM jobs WHERE id = $1`, [id]);
    expect(raw).toEqual([{ steps: 'array', peak: '5000000000' }]);
  });

  it('inserts rows without a workspace (organisation audit events) and lets constraints speak', async () => {
    const id = randomUUID();
    await insertRow(ds.getRepository(AuditEventEntity), {
      id,
      occurredAt: new Date('2026-01-02T03:04:05.678Z'),
      workspaceId: null,
      actorType: 'organisation',
      actorId: 'admin',
      requestId: null,
      clientIp: null,
      via: 'rest',
      action: 'test.event',
      resourceType: null,
      resourceId: null,
      outcome: 'success',
      sessionId: null,
      details: { list: [1, 2] },
    } as never);
    const row = await ds.getRepository(AuditEventEntity).findOneByOrFail({ id });
    expect(row).toMatchObject({ workspaceId: null, action: 'test.event', details: { list: [1, 2] } });
    expect(row.occurredAt.toISOString()).toBe('2026-01-02T03:04:05.678Z');
    await expect(insertRow(ds.getRepository(AuditEventEntity), { id, action: 'duplicate' })).rejects.toMatchObject({ code: expect.stringMatching(/^23/) });
  });

  it('updates by equality, IS NULL and In(), through transformers, stamps updated_at and counts the rows changed', async () => {
    const repository = ds.getRepository(JobEntity);
    const base = { workspaceId, status: 'running' as const, spec: {} as JobEntity['spec'], image: 'busybox', requestHash: 'h', createdBy: 'tester', steps: [], cleanupPolicy: 'remove_on_completion' as const, containerState: 'none' as const };
    const row = await insertRow(repository, { ...base, id: randomUUID() });
    const steps = [{ index: 0, name: 'step 1', status: 'succeeded', continue_on_error: false, exit_code: 0, started_at: null, finished_at: null, duration_ms: 1 }] as JobEntity['steps'];
    const changed = await updateRows(repository, { id: row.id, workspaceId, status: In(['queued', 'running']), exitCode: null }, {
      status: 'succeeded',
      exitCode: 0,
      steps,
      memoryPeakBytes: 6_000_000_000,
      finishedAt: new Date('2026-03-04T05:06:07.089Z'),
    });
    expect(changed).toBe(1);
    const read = await repository.findOneByOrFail({ id: row.id });
    expect(read).toMatchObject({ status: 'succeeded', exitCode: 0, steps, memoryPeakBytes: 6_000_000_000 });
    expect(read.finishedAt?.toISOString()).toBe('2026-03-04T05:06:07.089Z');
    expect(read.updatedAt.getTime()).toBeGreaterThanOrEqual(row.updatedAt.getTime());
    // The compare-and-set loses once the status moved on; another workspace's id changes nothing.
    expect(await updateRows(repository, { id: row.id, status: In(['queued', 'running']) }, { status: 'failed' })).toBe(0);
    expect(await updateRows(repository, { id: row.id, workspaceId: randomUUID() }, { status: 'failed' })).toBe(0);
    expect((await repository.findOneByOrFail({ id: row.id })).status).toBe('succeeded');
  });

  it('leaves conditions it cannot express to TypeORM', () => {
    expect(isPlainWhere({ id: 'x', status: In(['a']), exitCode: null, finishedAt: new Date() })).toBe(true);
    expect(isPlainWhere({ status: Not('a') })).toBe(false);
    expect(isPlainWhere({ workspace: { id: 'x' } })).toBe(false);
  });
});
