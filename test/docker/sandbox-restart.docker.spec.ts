import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ADMIN_TOKEN } from '../support/app';
import { createTestDatabase } from '../support/database';
import { docker, installationContainers, removeInstallationContainers } from '../support/docker';
import { freePort } from '../support/ports';
import type { ServerProcess } from '../support/server-process';
import { startServerProcess } from '../support/server-process';
import { sql } from '../support/sql';

async function http(url: string, method: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

interface Row {
  status: string;
  exit_reason: string | null;
  runner_id: string | null;
  container_id: string | null;
  expires_at: Date;
}

/**
 * Two real server processes on one database (issue 4: "on server restart, sandboxes whose containers
 * survived are re-adopted, those whose containers vanished are marked lost").
 */
describe('sandboxes across a server crash and restart', () => {
  it('re-adopts a sandbox whose container survived (exec works, TTL enforced) and marks one whose container vanished lost', async () => {
    const db = await createTestDatabase();
    const home = mkdtempSync(join(tmpdir(), 'orcaops-sbx-restart-'));
    const env = {
      DATABASE_URL: db.url,
      ORCAOPS_HOME: home,
      ORCAOPS_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      ORCAOPS_ENV: 'test',
      ORCAOPS_LOG_LEVEL: 'log',
      ORCAOPS_SANDBOX_REAPER_MS: '300',
      // The survivor comes from server 1's warm pool: its container carries server 1's pool labels.
      ORCAOPS_SANDBOX_POOL: 'orcaops/busybox=1',
    };
    const row = async (id: string): Promise<Row> =>
      (await sql<Row & Record<string, unknown>>(db.url, 'SELECT status, exit_reason, runner_id, container_id, expires_at FROM sandboxes WHERE id = $1', [id]))[0]!;
    let server: ServerProcess | undefined;
    try {
      server = await startServerProcess(env, await freePort());
      const first = server;
      const ws = await http(`${first.url}/v1/workspaces`, 'POST', TEST_ADMIN_TOKEN, { name: 'restart' });
      const dev = (await http(`${first.url}/v1/workspaces/${ws.body.id}/tokens`, 'POST', TEST_ADMIN_TOKEN, { name: 'dev', role: 'developer' })).body.token as string;
      const create = async (body: Record<string, unknown>): Promise<string> => {
        const res = await http(`${first.url}/v1/sandboxes`, 'POST', dev, body);
        expect(res).toMatchObject({ status: 201, body: { status: 'ready' } });
        return res.body.id as string;
      };
      // Waits for the pool so the survivor is a pooled sandbox (pre-opened shell, pool-labelled container).
      let survivor = '';
      for (let i = 0; i < 100 && !survivor; i++) {
        const res = await http(`${first.url}/v1/sandboxes`, 'POST', dev, { image: 'orcaops/busybox', env: { WHO: 'survivor' } });
        if (res.body.pooled) survivor = res.body.id;
        else {
          await http(`${first.url}/v1/sandboxes/${res.body.id}`, 'DELETE', dev);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      expect(survivor).not.toBe('');
      const vanished = await create({ image: 'orcaops/busybox', resources: { memory_mb: 128 } });
      const ran = await http(`${first.url}/v1/sandboxes/${survivor}/shells/main/run`, 'POST', dev, { command: 'echo $WHO > /workspace/note; cat note' });
      expect(ran.body).toMatchObject({ status: 'completed', exit_code: 0, output: 'survivor\n' });
      const before = await row(survivor);
      // The refill of server 1's pool has started (running) before the crash, so it is a settled stray.
      const ownPool = async (): Promise<number> =>
        (await installationContainers(db.url)).filter((c) => c.Labels['orcaops.pool_owner'] === before.runner_id && c.State === 'running').length;
      for (let i = 0; i < 100 && (await ownPool()) < 2; i++) await new Promise((r) => setTimeout(r, 200));
      expect(await ownPool()).toBe(2);

      await first.kill('SIGKILL');
      await docker.getContainer((await row(vanished)).container_id!).remove({ force: true });

      // Server 2 reconciles before it listens (the reaper's first pass runs at bootstrap).
      server = await startServerProcess(env, await freePort());
      const second = server;
      const adopted = await row(survivor);
      expect(adopted).toMatchObject({ status: 'ready', container_id: before.container_id });
      expect(adopted.runner_id).not.toBe(before.runner_id);
      expect(adopted.expires_at.getTime()).toBe(before.expires_at.getTime());
      expect(await row(vanished)).toMatchObject({ status: 'lost', exit_reason: 'engine_lost' });
      const lost = await http(`${second.url}/v1/sandboxes/${vanished}`, 'GET', dev);
      expect(lost.body).toMatchObject({ status: 'lost', exit_reason: 'engine_lost' });

      // The adopted sandbox works: its files survived; shells are per server, so the next one is fresh.
      const exec = await http(`${second.url}/v1/sandboxes/${survivor}/exec`, 'POST', dev, { command: 'cat /workspace/note; echo "$WHO"' });
      expect(exec.body).toMatchObject({ exit_code: 0, stdout: 'survivor\nsurvivor\n' });
      const shell = await http(`${second.url}/v1/sandboxes/${survivor}/shells/main/run`, 'POST', dev, { command: 'echo "$WHO $PWD"' });
      expect(shell.body).toMatchObject({ status: 'completed', output: 'survivor /workspace\n' });
      // Server 1's pool container that no sandbox took is removed as a stray; the taken one is kept.
      const pool = (await installationContainers(db.url)).filter((c) => c.Labels['orcaops.kind'] === 'pool');
      expect(pool.map((c) => c.Id)).toContain(before.container_id);
      expect(pool.filter((c) => c.Labels['orcaops.pool_owner'] === before.runner_id).map((c) => c.Id)).toEqual([before.container_id]);

      // Server 2 enforces the adopted sandbox's TTL: shortened to 10 s, it expires and its container goes.
      expect((await http(`${second.url}/v1/sandboxes/${survivor}/extend`, 'POST', dev, { ttl_seconds: 10 })).status).toBe(200);
      let ended: Row = adopted;
      for (let i = 0; i < 100 && ended.status !== 'expired'; i++) {
        await new Promise((r) => setTimeout(r, 300));
        ended = await row(survivor);
      }
      expect(ended).toMatchObject({ status: 'expired', exit_reason: 'ttl' });
      await expect(docker.getContainer(before.container_id!).inspect()).rejects.toMatchObject({ statusCode: 404 });
    } finally {
      await server?.kill('SIGTERM');
      await removeInstallationContainers(db.url);
      await db.drop();
      rmSync(home, { recursive: true, force: true });
    }
    // Two ts-node server boots and a TTL wait: well beyond the default 120 s on a loaded machine.
  }, 360_000);
});
