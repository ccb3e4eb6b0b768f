import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ADMIN_TOKEN } from '../support/app';
import { createTestDatabase } from '../support/database';
import { removeInstallationContainers } from '../support/docker';
import { freePort } from '../support/ports';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { sql } from '../support/sql';

async function http(url: string, init: RequestInit & { token?: string; json?: unknown } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { ...((init.headers as Record<string, string>) ?? {}) };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, { ...init, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body, signal: AbortSignal.timeout(60_000) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Every file under `dir` (recursively). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(entry.parentPath ?? dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

// ORCAOPS_HOME on a 4 MiB tmpfs: the server's own disk fills up. Root only (mount); CI runs as root.
const asRoot = process.getuid?.() === 0;
(asRoot ? describe : describe.skip)('fault suite: the data directory is full', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let home: string;
  let server: ServerProcess;
  let dev: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    home = mkdtempSync(join(tmpdir(), 'orcaops-diskfull-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', home]);
    server = await startServerProcess(
      { DATABASE_URL: db.url, ORCAOPS_HOME: home, ORCAOPS_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ORCAOPS_ENV: 'test', ORCAOPS_LOG_LEVEL: 'log' },
      await freePort(),
    );
    const ws = await http(`${server.url}/v1/workspaces`, { method: 'POST', token: TEST_ADMIN_TOKEN, json: { name: 'diskfull' } });
    const token = await http(`${server.url}/v1/workspaces/${ws.body.id}/tokens`, { method: 'POST', token: TEST_ADMIN_TOKEN, json: { name: 'dev', role: 'developer' } });
    dev = token.body.token;
  });

  afterAll(async () => {
    await server?.kill('SIGTERM');
    if (db) {
      await removeInstallationContainers(db.url);
      await db.drop();
    }
    if (home) {
      execFileSync('umount', [home]);
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('fails a job whose artifact does not fit with artifact_error naming the full storage, and leaves no partial file', async () => {
    const job = await http(`${server.url}/v1/jobs`, {
      method: 'POST',
      token: dev,
      json: { image: 'orcaops/busybox', command: 'head -c 6000000 /dev/urandom > big.bin', artifacts: ['big.bin'] },
    });
    expect(job.status).toBe(201);
    const done = await http(`${server.url}/v1/jobs/${job.body.id}/wait?timeout_seconds=60`, { token: dev });
    expect(done.body).toMatchObject({ status: 'failed', reason: 'artifact_error' });
    expect(done.body.message).toMatch(/storage is full/);
    expect(filesUnder(home).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(await sql(db.url, 'SELECT name FROM job_artifacts WHERE job_id = $1', [job.body.id])).toEqual([]);
  });

  it('answers a workflow source upload that does not fit with 507 insufficient_storage', async () => {
    const src = mkdtempSync(join(tmpdir(), 'orcaops-diskfull-src-'));
    try {
      mkdirSync(join(src, 'tree'));
      writeFileSync(join(src, 'tree', 'blob.bin'), Buffer.alloc(5_000_000, 7));
      const tar = execFileSync('tar', ['-C', join(src, 'tree'), '-cf', '-', 'blob.bin'], { maxBuffer: 64 * 2 ** 20 });
      const upload = await http(`${server.url}/v1/workflows/sources`, { method: 'POST', token: dev, headers: { 'content-type': 'application/x-tar' }, body: tar });
      expect(upload.body.error).toMatchObject({ code: 'insufficient_storage' });
      expect(upload.status).toBe(507);
      expect(filesUnder(home).filter((f) => f.endsWith('.partial'))).toEqual([]);
      expect(await sql(db.url, 'SELECT id FROM workflow_sources')).toEqual([]);
    } finally {
      rmSync(src, { recursive: true, force: true });
    }
  });

  it('keeps working for what fits: a small artifact is stored whole and downloads intact', async () => {
    const job = await http(`${server.url}/v1/jobs`, {
      method: 'POST',
      token: dev,
      json: { image: 'orcaops/busybox', command: 'echo small > small.txt', artifacts: ['small.txt'] },
    });
    const done = await http(`${server.url}/v1/jobs/${job.body.id}/wait?timeout_seconds=60`, { token: dev });
    expect(done.body).toMatchObject({ status: 'succeeded' });
    const list = await http(`${server.url}/v1/jobs/${job.body.id}/artifacts`, { token: dev });
    const artifact = list.body.items[0];
    const download = await fetch(`${server.url}/v1/jobs/${job.body.id}/artifacts/${encodeURIComponent(artifact.name)}`, { headers: { authorization: `Bearer ${dev}` } });
    expect(await download.text()).toBe('small\n');
    expect(statSync(home).isDirectory()).toBe(true);
  });
});
