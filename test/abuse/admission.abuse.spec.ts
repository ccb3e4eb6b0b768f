import { Client } from 'pg';
import { sql } from '../support/sql';
import { TEST_ADMIN_TOKEN } from '../support/app';
import { startAbuseServer, type AbuseServer } from './support/abuse-server';

// A tenant's burst of job submits (here all over its quota) must queue behind its own admissions, not
// hold the database connections every tenant shares while they wait for the workspace's admission lock
// (docs/security.md, "Fair shares"). Refusals of the burst are audited as one row per window, not one each.
jest.setTimeout(300_000);

const POOL = 6;

/** Fails clearly instead of at the jest timeout (without the bulkhead, the bystander waits for a connection forever). */
async function within<T>(ms: number, what: string, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  try {
    return await Promise.race([work(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
const BURST = 60;

describe('abuse: admission bursts', () => {
  let s: AbuseServer;
  beforeAll(async () => {
    s = await startAbuseServer({ ORCAOPS_DB_POOL_SIZE: String(POOL) });
  });
  afterAll(async () => {
    await s?.close();
  });

  it(`${BURST} concurrent submits of one workspace wait for the admission lock in memory, holding at most 2 database connections; the bystander is served`, async () => {
    const quota = await s.request('PUT', `/v1/workspaces/${s.abuser.id}/quotas`, { token: TEST_ADMIN_TOKEN, body: { limits: { concurrent_jobs: 1 } } });
    expect(quota.status).toBe(200);
    const sleeper = await s.request('POST', '/v1/jobs', { token: s.abuser.developer, body: { image: 'orcaops/busybox', command: 'sleep 600', timeout_seconds: 600 } });
    expect(sleeper.status).toBe(201);
    // Another server's slow admission in this workspace (here: the test's own session) holds the
    // workspace's admission lock: every submit of the burst has to wait for it.
    const holder = new Client({ connectionString: s.databaseUrl });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(hashtext($1))', [`quota:${s.abuser.id}`]);
      const burst = Array.from({ length: BURST }, () =>
        s.request('POST', '/v1/jobs', { token: s.abuser.developer, body: { image: 'orcaops/busybox', command: 'true' } }),
      );
      // Wait until the burst has reached the lock (the admissions that may wait there are waiting).
      const waiting = async (): Promise<number> => {
        const [row] = await sql<{ n: string }>(
          s.databaseUrl,
          "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'",
        );
        return Number(row!.n);
      };
      for (let i = 0; i < 200 && (await waiting()) < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      // The bystander is served while the abuser's admissions wait; they hold no more than 2 connections.
      await within(30_000, 'the bystander while the abuser waits for its admission lock', () => s.bystanderWorks());
      const bystanderSubmit = await s.request('POST', '/v1/jobs', { token: s.bystander.developer, body: { image: 'orcaops/busybox', command: 'true' } });
      expect(bystanderSubmit.status).toBe(201);
      expect(await waiting()).toBeLessThanOrEqual(2);
      await holder.query('SELECT pg_advisory_unlock(hashtext($1))', [`quota:${s.abuser.id}`]);
      const result = await Promise.all(burst);
      expect(result.map((r) => r.status)).toEqual(Array(BURST).fill(429));
      expect(result[0]!.body.error.code).toBe('quota_exceeded');
      const done = await s.request('GET', `/v1/jobs/${bystanderSubmit.body.id}/wait?timeout_seconds=60`, { token: s.bystander.developer });
      expect(done.body.status).toBe('succeeded');

      // The burst's refusals: the first one recorded at once, with its details; the rest counted, not one row each.
      const rows = await sql<{ details: Record<string, unknown> }>(
        s.databaseUrl,
        "SELECT details FROM audit_events WHERE workspace_id = $1 AND action = 'job.create' AND outcome = 'denied'",
        [s.abuser.id],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]!.details).toMatchObject({ code: 'quota_exceeded', quota: 'concurrent_jobs', limit: 1 });
    } finally {
      await holder.end();
      await s.request('POST', `/v1/jobs/${sleeper.body.id}/cancel`, { token: s.abuser.developer });
    }
  });
});
