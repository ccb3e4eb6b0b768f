import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram, TOP_LEVEL_COMMANDS } from 'src/cli/main';

const ROOT = join(__dirname, '..', '..');
const RECORDER = join(ROOT, 'test', 'support', 'module-recorder.js');

/**
 * Packages a REST-client command must never load (issue 20 item 8): together they made `orcaops
 * --version` take ~0.9 s. Commands that need them (serve, admin, images, doctor) load them in their
 * action through src/cli/deferred.ts; src/cli/main.ts requires a command's module only when the
 * command line names it.
 */
const HEAVY = ['@nestjs/core', '@nestjs/common', '@nestjs/swagger', '@nestjs/typeorm', 'typeorm', 'class-validator', 'dockerode', 'pg', 'fastify'];

const JOB = { id: 'job-1', status: 'queued', reason: null, message: null, exit_code: null, duration_ms: null, usage: { output_truncated: false } };

/** Just enough of the API for `run` and `jobs list` to go their whole way (submit, stream, wait; list). */
function fakeApi(req: IncomingMessage, res: ServerResponse): void {
  const json = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const path = (req.url ?? '').split('?')[0];
  if (req.method === 'POST' && path === '/v1/jobs') return json(201, JOB);
  if (req.method === 'GET' && path === '/v1/jobs') return json(200, { items: [{ ...JOB, status: 'succeeded', exit_code: 0, image: 'orcaops/busybox', created_at: '2026-01-01T00:00:00Z' }] });
  if (path === `/v1/jobs/${JOB.id}/logs`) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(`id: 1\nevent: output\ndata: ${JSON.stringify({ stream: 'stdout', data: 'hi\n' })}\n\nid: 2\nevent: end\ndata: {}\n\n`);
    return;
  }
  if (path === `/v1/jobs/${JOB.id}/wait`) return json(200, { ...JOB, status: 'succeeded', exit_code: 0, duration_ms: 12 });
  json(404, { error: { code: 'not_found', message: `no ${req.method} ${path} here`, details: {} } });
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  packages: Set<string>;
  files: string[];
}

/** The package name of each node_modules file the process loaded. */
function packagesOf(files: string[]): Set<string> {
  return new Set(files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter((p): p is string => p !== undefined));
}

describe('CLI start-up (fast tier): REST-client commands load no server code', () => {
  let server: Server;
  let url: string;
  let home: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'orcaops-cli-startup-'));
    server = createServer(fakeApi);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.close();
    if (server) await once(server, 'close');
    rmSync(home, { recursive: true, force: true });
  });

  /**
   * Runs `orcaops ARGS` from the TypeScript sources as its own process and records what it loaded
   * (`entry` replaces the CLI, for the recorder's own check). ts-node costs ~1.5 s of CPU per process:
   * the runs start together in beforeAll.
   */
  async function orcaops(args: string[], entry = ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(ROOT, 'src', 'cli', 'main.ts')]): Promise<CliRun> {
    const loaded = join(home, `loaded-${Math.random().toString(36).slice(2)}.json`);
    const child = spawn(process.execPath, ['-r', RECORDER, ...entry, ...args], {
      cwd: ROOT,
      env: { ...process.env, ORCAOPS_URL: url, ORCAOPS_TOKEN: 'test-token', ORCAOPS_HOME: home, ORCAOPS_TEST_LOADED_MODULES: loaded, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const [code] = (await once(child, 'exit')) as [number | null];
    const files = JSON.parse(readFileSync(loaded, 'utf8')) as string[];
    return { code, stdout, stderr, packages: packagesOf(files), files };
  }

  const heavyIn = (run: CliRun): string[] => HEAVY.filter((p) => run.packages.has(p));
  let runs: Record<'control' | 'version' | 'help' | 'run' | 'jobsList' | 'mcp', CliRun>;

  beforeAll(async () => {
    const [control, version, help, run, jobsList, mcp] = await Promise.all([
      orcaops([], ['-e', "require('@nestjs/core')"]),
      orcaops(['--version']),
      orcaops(['--help']),
      orcaops(['run', 'orcaops/busybox', '--', 'echo', 'hi']),
      orcaops(['--json', 'jobs', 'list']),
      // stdin is closed at once: the relay starts, sees the end of its input and exits.
      orcaops(['mcp']),
    ]);
    runs = { control, version, help, run, jobsList, mcp };
  });

  it('the recorder sees a heavy package when one is loaded (the checks below are not vacuous)', () => {
    expect(runs.control.code).toBe(0);
    expect(heavyIn(runs.control)).toEqual(expect.arrayContaining(['@nestjs/core', '@nestjs/common']));
  });

  it('the command table names each built command and its aliases, in help order', () => {
    const built = buildProgram().commands.map((c) => [c.name(), ...c.aliases()]);
    expect(built).toEqual(TOP_LEVEL_COMMANDS.map((c) => [...c.names]));
  });

  it('a command line builds only the command it names (none for --version; all for help and typos)', () => {
    const names = (args: string[]): string[] => buildProgram(args).commands.map((c) => c.name());
    expect(names(['run', 'orcaops/busybox', '--', 'true'])).toEqual(['run']);
    expect(names(['--json', 'sandboxes', 'list'])).toEqual(['sandbox']);
    expect(names(['--version'])).toEqual([]);
    expect(names(['-V', '--help'])).toHaveLength(TOP_LEVEL_COMMANDS.length);
    expect(names(['help', 'run'])).toHaveLength(TOP_LEVEL_COMMANDS.length);
    expect(names(['jbos'])).toHaveLength(TOP_LEVEL_COMMANDS.length);
    expect(names([])).toHaveLength(TOP_LEVEL_COMMANDS.length);
  });

  it('--version loads commander and no command module', () => {
    expect({ code: runs.version.code, stdout: runs.version.stdout }).toEqual({ code: 0, stdout: '0.1.0\n' });
    expect(runs.version.packages.has('commander')).toBe(true);
    expect(runs.version.files.filter((f) => f.includes('/src/cli/'))).toEqual([expect.stringMatching(/\/src\/cli\/main\.ts$/)]);
    expect(heavyIn(runs.version)).toEqual([]);
  });

  it('--help loads every command module, and none of them drags server code in', () => {
    expect(runs.help.code).toBe(0);
    for (const c of TOP_LEVEL_COMMANDS) expect(runs.help.stdout).toMatch(new RegExp(`^  ${c.names[0]}\\b`, 'm'));
    expect(heavyIn(runs.help)).toEqual([]);
  });

  it('run IMAGE -- CMD: submits, streams the output, waits, exits with the job exit code; loads only the jobs commands', () => {
    expect(runs.run.files.filter((f) => f.includes('/src/cli/commands/')).map((f) => f.replace(/^.*\/src\/cli\/commands\//, '')).sort()).toEqual(['jobs-search.command.ts', 'jobs.command.ts']);
    expect({ code: runs.run.code, stdout: runs.run.stdout }).toEqual({ code: 0, stdout: 'hi\n' });
    expect(runs.run.stderr).toContain(`job ${JOB.id} succeeded`);
    expect(heavyIn(runs.run)).toEqual([]);
  });

  it('jobs list', () => {
    expect(runs.jobsList.code).toBe(0);
    expect((JSON.parse(runs.jobsList.stdout) as { items: Array<{ id: string }> }).items.map((j) => j.id)).toEqual([JOB.id]);
    expect(heavyIn(runs.jobsList)).toEqual([]);
  });

  it('mcp (the stdio relay is a REST client: the MCP SDK, no server code)', () => {
    expect(runs.mcp.code).toBe(0);
    expect(runs.mcp.packages.has('@modelcontextprotocol/sdk')).toBe(true);
    expect(heavyIn(runs.mcp)).toEqual([]);
  });
});
