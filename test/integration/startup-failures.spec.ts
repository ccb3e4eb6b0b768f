import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ADMIN_TOKEN } from '../support/app';
import { createTestDatabase } from '../support/database';
import { freePort } from '../support/ports';
import { runFailingServer } from '../support/server-process';

jest.setTimeout(300_000);

/** Something else listening on a port (another server, another PostgreSQL). */
async function occupy(port: number): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

/** Whether anything accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The one line a failed start prints (the server's own JSON log lines aside). */
const reason = (stderr: string): string[] => {
  // No stack dump of Nest's start-up exception handler besides it.
  expect(stderr).not.toContain('"context":"ExceptionHandler"');
  return stderr.split('\n').filter((line) => line.startsWith('orcaops: '));
};

// Issue 20 item 7: every start-up failure prints one line saying what is wrong and what to do, exits 1,
// and leaves nothing running (an embedded PostgreSQL it started is stopped). Real server processes.
describe('start-up failures say why and end the process', () => {
  let home: string;
  const base = { ORCAOPS_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ORCAOPS_ENV: 'test', ORCAOPS_LOG_LEVEL: 'warn' };

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'orcaops-startup-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it.each([false, true])('HTTP port taken (external database): one line naming the port and ORCAOPS_PORT, exit 1 (orcaops serve: %s)', async (cli) => {
    const db = await createTestDatabase();
    const port = await freePort();
    const other = await occupy(port);
    try {
      const run = await runFailingServer({ ...base, DATABASE_URL: db.url, ORCAOPS_HOME: home }, port, { cli });
      expect(run.code).toBe(1);
      expect(reason(run.stderr)).toEqual([`orcaops: cannot start: port ${port} on 127.0.0.1 is taken (another orcaops serve?): stop it, or set ORCAOPS_PORT (orcaops serve --port) to a free port`]);
    } finally {
      other.close();
      await db.drop();
    }
  });

  it('HTTP port taken (embedded PostgreSQL): the embedded PostgreSQL it started is stopped, exit 1', async () => {
    const port = await freePort();
    const pgPort = await freePort();
    const other = await occupy(port);
    try {
      const run = await runFailingServer({ ...base, ORCAOPS_HOME: home, ORCAOPS_EMBEDDED_PG_PORT: String(pgPort) }, port);
      expect(run.code).toBe(1);
      expect(reason(run.stderr)).toEqual([expect.stringContaining(`port ${port} on 127.0.0.1 is taken`)]);
      // It did start (and initialise) its cluster, and stopped it again.
      expect(existsSync(join(home, 'postgres', 'PG_VERSION')) || run.output.includes('embedded PostgreSQL')).toBe(true);
      expect(await listening(pgPort)).toBe(false);
    } finally {
      other.close();
    }
  });

  it('embedded PostgreSQL port taken (a second orcaops serve): one line naming the port and ORCAOPS_EMBEDDED_PG_PORT, exit 1', async () => {
    const pgPort = await freePort();
    const other = await occupy(pgPort);
    try {
      const run = await runFailingServer({ ...base, ORCAOPS_HOME: home, ORCAOPS_EMBEDDED_PG_PORT: String(pgPort) }, await freePort());
      expect(run.code).toBe(1);
      const lines = reason(run.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`port ${pgPort} on 127.0.0.1, which the embedded PostgreSQL uses, is taken`);
      expect(lines[0]).toContain('set ORCAOPS_EMBEDDED_PG_PORT to a free port, or DATABASE_URL');
    } finally {
      other.close();
    }
  });

  it('ORCAOPS_HOME that is not a writable directory: one line naming it, exit 1', async () => {
    const file = join(home, 'not-a-directory');
    writeFileSync(file, 'x');
    const run = await runFailingServer({ ...base, ORCAOPS_HOME: file, ORCAOPS_EMBEDDED_PG_PORT: String(await freePort()) }, await freePort());
    expect(run.code).toBe(1);
    expect(reason(run.stderr)).toEqual([expect.stringMatching(new RegExp(`^orcaops: cannot start: ORCAOPS_HOME \\(${file}\\) is not a directory this user can write \\(E[A-Z]+.*\\): set ORCAOPS_HOME to one$`))]);
  });

  it('a database that does not answer at DATABASE_URL: one line naming it (no password), exit 1', async () => {
    const closed = await freePort();
    const run = await runFailingServer({ ...base, ORCAOPS_HOME: home, DATABASE_URL: `postgres://orcaops:s3cret-pw@127.0.0.1:${closed}/orcaops` }, await freePort());
    expect(run.code).toBe(1);
    expect(reason(run.stderr)).toEqual([
      `orcaops: cannot start: the database at DATABASE_URL (127.0.0.1:${closed}/orcaops) cannot be used: nothing answers there; fix DATABASE_URL, or unset it to use the embedded PostgreSQL`,
    ]);
    expect(run.output).not.toContain('s3cret-pw');
  });
});
