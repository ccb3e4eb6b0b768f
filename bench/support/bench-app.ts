// Boots a real OrcaOps server for benchmarks: embedded PostgreSQL in a temp dir (or DATABASE_URL),
// the full AppModule listening on loopback, and one workspace with a developer token.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { resetEnvCache } from 'src/config/orcaops.config';
import { startEmbeddedPostgres } from 'src/database/embedded-postgres';
import { createHttpApp } from 'src/http/create-app';
import { freePort } from '../../test/support/ports';
import { startServerProcess } from '../../test/support/server-process';

export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdefghijklmnopq';

export interface BenchApp {
  app: NestFastifyApplication;
  url: string;
  devToken: string;
  workspaceId: string;
  close(): Promise<void>;
}


export async function startBenchApp(extraEnv: Record<string, string> = {}): Promise<BenchApp> {
  const home = mkdtempSync(join(tmpdir(), 'orcaops-bench-'));
  const pg = process.env.DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({ dir: join(home, 'postgres'), port: await freePort() });
  Object.assign(process.env, {
    ORCAOPS_ENV: 'test',
    ORCAOPS_HOME: home,
    DATABASE_URL: process.env.DATABASE_URL ?? pg!.url,
    ORCAOPS_ADMIN_TOKEN: ADMIN_TOKEN,
    ORCAOPS_LOG_LEVEL: 'error',
    ...extraEnv,
  });
  resetEnvCache();
  const app = await createHttpApp({ logger: false, swaggerUi: false });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const post = async (path: string, token: string, body: unknown): Promise<any> => {
    const r = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return r.json();
  };
  const ws = await post('/v1/workspaces', ADMIN_TOKEN, { name: 'bench', settings: {} });
  const tok = await post(`/v1/workspaces/${ws.id}/tokens`, ADMIN_TOKEN, { name: 'bench', role: 'developer' });
  return {
    app,
    url,
    devToken: tok.token,
    workspaceId: ws.id,
    close: async () => {
      await app.close();
      await pg?.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * The same, with the server in its own process (as clients meet it): the benchmark's HTTP client and
 * Docker calls then do not share the server's event loop. PostgreSQL is embedded in a temp dir here.
 */
export async function startBenchServer(extraEnv: Record<string, string> = {}): Promise<Omit<BenchApp, 'app'> & { pid: number; databaseUrl: string }> {
  const home = mkdtempSync(join(tmpdir(), 'orcaops-bench-'));
  const pg = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres({ dir: join(home, 'postgres'), port: await freePort() });
  const databaseUrl = process.env.DATABASE_URL ?? pg!.url;
  const server = await startServerProcess(
    {
      ORCAOPS_ENV: 'test',
      ORCAOPS_HOME: home,
      DATABASE_URL: databaseUrl,
      ORCAOPS_ADMIN_TOKEN: ADMIN_TOKEN,
      // Default log level: startServerProcess waits for the line saying it listens.
      ...extraEnv,
    },
    await freePort(),
  );
  const post = async (path: string, body: unknown): Promise<any> =>
    (await fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
  const ws = await post('/v1/workspaces', { name: 'bench', settings: {} });
  const tok = await post(`/v1/workspaces/${ws.id}/tokens`, { name: 'bench', role: 'developer' });
  return {
    url: server.url,
    pid: server.child.pid!,
    databaseUrl,
    devToken: tok.token,
    workspaceId: ws.id,
    close: async () => {
      await server.kill('SIGTERM');
      await pg?.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
