import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source-options';
import { TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import type { EgressConfig } from 'src/egress/egress.config';
import { EgressEventLog, type EgressEvent } from 'src/egress/egress-event-log';
import { EgressUsage } from 'src/egress/egress-usage';
import { EgressEventEntity } from 'src/egress/entities/egress-event.entity';
import { EgressUsageDayEntity } from 'src/egress/entities/egress-usage-day.entity';
import { createTestDatabase } from '../support/database';

/**
 * The durable egress log and daily byte counter against a migrated database: batched writes, reads per
 * subject and workspace, the per-workspace caps, retention, and counters that survive a new process.
 */
describe('egress log and byte counters (real Postgres)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  const a = randomUUID();
  const b = randomUUID();
  const config = { bytesPerDay: 1_000, logPerWorkspace: 100_000, logPendingPerWorkspace: 50, logFlushMs: 60_000, retentionDays: 30 } as EgressConfig;

  const newLog = (): EgressEventLog => new EgressEventLog(new TenantScopedRepository(ds.getRepository(EgressEventEntity)), ds, config);
  const newUsage = (): EgressUsage => new EgressUsage(new TenantScopedRepository(ds.getRepository(EgressUsageDayEntity)), config);
  const event = (workspace: string, extra: Partial<EgressEvent> = {}): EgressEvent => ({
    at: new Date().toISOString(),
    workspace_id: workspace,
    subject_kind: 'job',
    subject_id: randomUUID(),
    method: 'CONNECT',
    host: 'allowed.test',
    address: '203.0.113.10',
    port: 443,
    decision: 'allowed',
    rule: 'network.allow_domains "allowed.test" (workspace)',
    bytes_up: 10,
    bytes_down: 20,
    duration_ms: 5,
    ...extra,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await new DataSource(buildDataSourceOptions(db.url)).initialize();
    for (const id of [a, b]) await ds.query(`INSERT INTO workspaces (id, name, settings) VALUES ($1, $2, '{}')`, [id, `ws-${id.slice(0, 8)}`]);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('writes decisions in batches and reads them per job, per sandbox and per workspace, newest first, each workspace its own', async () => {
    const log = newLog();
    const job = randomUUID();
    const sandbox = randomUUID();
    const t0 = Date.now() - 10_000;
    log.record(event(a, { subject_id: job, at: new Date(t0).toISOString(), host: 'allowed.test' }));
    log.record(event(a, { subject_id: job, at: new Date(t0 + 1).toISOString(), host: 'denied.test', decision: 'denied', address: null, bytes_up: 0, bytes_down: 0 }));
    log.record(event(a, { subject_kind: 'sandbox', subject_id: sandbox, at: new Date(t0 + 2).toISOString() }));
    log.record(event(b, { subject_id: job }));
    // Nothing is written until the batch: the relay never waited on the database.
    expect(await ds.query(`SELECT count(*)::int AS n FROM egress_events`)).toEqual([{ n: 0 }]);

    const forJob = await newLog().forWorkspace(a, { job_id: job }).then(async (before) => ({ before, after: await log.forWorkspace(a, { job_id: job }) }));
    expect(forJob.before).toEqual([]);
    expect(forJob.after.map((e) => `${e.decision} ${e.host}`)).toEqual(['denied denied.test', 'allowed allowed.test']);
    expect(forJob.after[1]).toEqual(expect.objectContaining({ subject_kind: 'job', subject_id: job, address: '203.0.113.10', port: 443, bytes_up: 10, bytes_down: 20, duration_ms: 5 }));
    expect((await log.forWorkspace(a, { sandbox_id: sandbox })).map((e) => e.subject_kind)).toEqual(['sandbox']);
    expect((await log.forWorkspace(a, { job_id: job, decision: 'denied' })).map((e) => e.host)).toEqual(['denied.test']);
    expect(await log.forWorkspace(a, { limit: 2 })).toHaveLength(2);
    // Workspace b's row has the same job id but stays b's.
    expect((await log.forWorkspace(b, { job_id: job })).map((e) => e.host)).toEqual(['allowed.test']);
    expect(await log.forWorkspace(b, { sandbox_id: sandbox })).toEqual([]);
  });

  it('bounds what waits for a batch per workspace: a flood drops its own decisions, not another workspace’s', async () => {
    const log = newLog();
    const flood = randomUUID();
    const quiet = randomUUID();
    for (let i = 0; i < config.logPendingPerWorkspace + 20; i++) log.record(event(a, { subject_id: flood }));
    log.record(event(b, { subject_id: quiet }));
    expect(await log.forWorkspace(a, { job_id: flood, limit: 1000 })).toHaveLength(config.logPendingPerWorkspace);
    expect(await log.forWorkspace(b, { job_id: quiet })).toHaveLength(1);
  });

  it('keeps at most the newest perWorkspace rows of a workspace', async () => {
    const ws = randomUUID();
    await ds.query(`INSERT INTO workspaces (id, name, settings) VALUES ($1, 'ws-cap', '{}')`, [ws]);
    const log = newLog();
    log.perWorkspace = 20;
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 45; i++) {
      log.record(event(ws, { at: new Date(t0 + i * 10).toISOString(), port: i + 1 }));
      if (i % 10 === 9) await log.flush();
    }
    await log.flush();
    const kept = await log.forWorkspace(ws, { limit: 1000 });
    expect(kept.length).toBeGreaterThanOrEqual(20);
    expect(kept.length).toBeLessThanOrEqual(20 + 2); // pruned every perWorkspace/10 writes
    expect(kept[0]!.port).toBe(45);
    expect(kept.map((e) => e.port)).not.toContain(1);
  });

  it('deletes rows older than the workspace’s job retention in the hourly sweep', async () => {
    const ws = randomUUID();
    await ds.query(`INSERT INTO workspaces (id, name, settings) VALUES ($1, 'ws-ret', '{"job_retention_days": 2}')`, [ws]);
    const log = newLog();
    const day = 86_400_000;
    log.record(event(ws, { at: new Date(Date.now() - 3 * day).toISOString(), host: 'old.test' }));
    log.record(event(ws, { at: new Date(Date.now() - day).toISOString(), host: 'recent.test' }));
    log.record(event(a, { at: new Date(Date.now() - 3 * day).toISOString(), host: 'kept-by-default-retention.test' }));
    await log.flush();
    expect(await log.sweep()).toBe(1);
    expect((await log.forWorkspace(ws)).map((e) => e.host)).toEqual(['recent.test']);
    expect((await log.forWorkspace(a, { limit: 1000 })).map((e) => e.host)).toContain('kept-by-default-retention.test');
  });

  it('keeps today’s byte count across a restart and adds up what several servers count', async () => {
    const first = newUsage();
    const second = newUsage();
    await first.load(a);
    await second.load(a);
    expect(first.charge(a, 300)).toBe(true);
    await first.flush();
    expect(second.charge(a, 400)).toBe(true);
    await second.flush();
    // Each server reads the stored total back with its write: the other's bytes are in it.
    expect(second.bytesToday(a)).toBe(700);
    expect(second.charge(a, 400)).toBe(false);
    await second.onApplicationShutdown();

    const restarted = newUsage();
    await restarted.load(a);
    expect(restarted.bytesToday(a)).toBe(1_100);
    expect(restarted.bytesToday(b)).toBe(0);
    await restarted.load(b);
    expect(restarted.charge(b, 10)).toBe(true);
  });
});
