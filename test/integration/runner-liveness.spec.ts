import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source-options';
import { guardPoolClients } from 'src/database/pool-errors';
import { RunnerLiveness } from 'src/jobs/runner-liveness';
import { createTestDatabase } from '../support/database';
import { TcpProxy } from '../support/tcp-proxy';

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Two servers' liveness locks on one database behind a proxy that plays a database outage (every
// connection reset, new ones refused) and its end.
describe('runner liveness across a database outage', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let proxy: TcpProxy;
  const sources: DataSource[] = [];

  async function dataSource(): Promise<DataSource> {
    const url = new URL(db.url);
    url.port = String(proxy.port);
    const ds = await new DataSource(buildDataSourceOptions(url.toString())).initialize();
    guardPoolClients(ds, () => undefined);
    sources.push(ds);
    return ds;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(db.url);
    proxy = new TcpProxy(target.hostname, Number(target.port));
    await proxy.start();
  });
  afterAll(async () => {
    proxy.restore();
    for (const ds of sources) await ds.destroy().catch(() => undefined);
    await proxy.stop();
    await db.drop();
  });

  it('re-takes its lock after the outage, and a server fresh out of it judges nobody gone during the grace', async () => {
    const a = new RunnerLiveness(await dataSource(), { graceMs: 2_000, retakeMs: 100 });
    const b = new RunnerLiveness(await dataSource(), { graceMs: 2_000, retakeMs: 100 });
    await a.hold('runner-a');
    await b.hold('runner-b');
    expect(await b.isGone('runner-a')).toBe(false);
    expect(await b.isGone('runner-that-never-was')).toBe(true);

    proxy.cut();
    await until(() => !a.holding && !b.holding, 'both locks to be lost');
    // Without its own lock, a server judges nobody (it cannot tell an outage from their death).
    expect(await b.isGone('runner-a')).toBe(false);

    proxy.restore();
    await until(() => b.holding, 'b to re-take its lock');
    // b is in its grace: even a runner that really is gone is not judged yet.
    expect(await b.isGone('runner-that-never-was')).toBe(false);
    await until(() => a.holding, 'a to re-take its lock');
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(await b.isGone('runner-a')).toBe(false);
    expect(await b.isGone('runner-that-never-was')).toBe(true);

    await a.release();
    expect(await b.isGone('runner-a')).toBe(true);
    await b.release();
  });
});
