import { randomBytes } from 'node:crypto';
import { extract, pack } from 'tar-stream';
import type { ContainerRuntime } from 'src/runtime/container-runtime.port';
import { CONTAINER_RUNTIME, SANDBOX_USER } from 'src/runtime/container-runtime.port';
import { ShellSession } from 'src/sandboxes/interaction/shell-session';
import { SandboxActivity } from 'src/sandboxes/sandbox-activity';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { removeInstallationContainers } from '../support/docker';
import type { ApiResponse } from '../support/http';
import { api } from '../support/http';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

function tarOf(entries: Array<{ name: string; type?: 'file' | 'directory' | 'symlink'; data?: Buffer; linkname?: string }>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = pack();
    const parts: Buffer[] = [];
    p.on('data', (c: unknown) => parts.push(c as Buffer));
    p.on('end', () => resolve(Buffer.concat(parts)));
    p.on('error', reject);
    for (const e of entries) {
      if (e.type === 'file' || e.type === undefined) p.entry({ name: e.name, size: e.data?.length ?? 0 }, e.data ?? Buffer.alloc(0));
      else p.entry({ name: e.name, type: e.type, linkname: e.linkname });
    }
    p.finalize();
  });
}

function untar(buf: Buffer): Promise<Map<string, { type: string; data: Buffer }>> {
  return new Promise((resolve, reject) => {
    const out = new Map<string, { type: string; data: Buffer }>();
    const x = extract();
    x.on('entry', (h, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (c: unknown) => parts.push(c as Buffer));
      stream.on('end', () => {
        out.set(h.name, { type: h.type ?? 'file', data: Buffer.concat(parts) });
        next();
      });
    });
    x.on('finish', () => resolve(out));
    x.on('error', reject);
    x.end(buf);
  });
}

/** Exec, persistent shells, background processes and files of a live sandbox, on the real engine. */
describe('sandbox interaction on the real engine', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let dev: string;
  let sbx: string;
  let activity: SandboxActivity;

  beforeAll(async () => {
    t = await createTestApp();
    a = await seedWorkspace(t.app, 'interact-a');
    b = await seedWorkspace(t.app, 'interact-b');
    dev = a.tokens.developer.token;
    activity = t.app.get(SandboxActivity);
    const res = await api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: { image: 'orcaops/busybox', ttl_seconds: 900 } });
    expect(res.status).toBe(201);
    sbx = res.body.id;
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  const url = (path: string): string => `/v1/sandboxes/${sbx}${path}`;
  const post = (path: string, body: unknown, token = dev): Promise<ApiResponse> => api(t.app, 'POST', url(path), { token, body });
  const get = (path: string, token = dev): Promise<ApiResponse> => api(t.app, 'GET', url(path), { token });

  describe('one-shot exec', () => {
    it('collects output, exit code, cwd, env and stdin', async () => {
      const res = await post('/exec', { command: 'pwd; echo "$X"; cat; echo err >&2; exit 3', env: { X: 'ex' }, stdin: 'from-stdin' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ exit_code: 3, stdout: '/workspace\nex\nfrom-stdin', stderr: 'err\n', timed_out: false });
      const argv = await post('/exec', { args: ['echo', 'a b', '$HOME'], cwd: '/tmp' });
      expect(argv.body.stdout).toBe('a b $HOME\n');
    });

    it('kills the process group at the timeout', async () => {
      const started = Date.now();
      const res = await post('/exec', { command: 'sleep 100 & sleep 100; echo never', timeout_seconds: 1 });
      expect(res.body).toMatchObject({ timed_out: true, exit_code: 137 });
      expect(res.body.stdout).not.toContain('never');
      expect(Date.now() - started).toBeLessThan(10_000);
      const ps = await post('/exec', { command: 'ps -o pid,args | grep "sleep 100" | grep -v grep || true' });
      expect(ps.body.stdout).toBe('');
    });

    it('streams output over SSE and ends with an exit event', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: url('/exec'),
        headers: { authorization: `Bearer ${dev}`, accept: 'text/event-stream', 'content-type': 'application/json' },
        payload: JSON.stringify({ command: 'echo one; sleep 0.2; echo two >&2' }),
      });
      expect(res.headers['content-type']).toContain('text/event-stream');
      expect(res.body).toContain('event: output\ndata: {"stream":"stdout","data":"one\\n"}');
      expect(res.body).toContain('"stream":"stderr","data":"two\\n"');
      expect(res.body).toMatch(/event: exit\ndata: \{"exit_code":0,"timed_out":false/);
    });
  });

  describe('persistent shells', () => {
    it('keeps cwd, exported and shell variables between commands', async () => {
      const first = await post('/shells/main/run', { command: 'cd /tmp; export X=1; Y=two' });
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ status: 'completed', exit_code: 0, cwd: '/tmp', output: '' });
      const second = await post('/shells/main/run', { command: 'pwd; echo $X $Y; sh -c \'echo child=$X\'' });
      expect(second.body).toMatchObject({ status: 'completed', exit_code: 0, output: '/tmp\n1 two\nchild=1\n' });
      const failing = await post('/shells/main/run', { command: "echo 'unbalanced; false" });
      expect(failing.body.status).toBe('completed');
      expect(failing.body.exit_code).toBe(2);
      const status = await post('/shells/main/run', { command: 'printf no-newline; (exit 7)' });
      expect(status.body).toMatchObject({ exit_code: 7, output: 'no-newline' });
      const list = await get('/shells');
      expect(list.body.items).toEqual([expect.objectContaining({ name: 'main', busy: false })]);
    });

    it('returns partial output at the soft timeout, waits for the rest, and holds a lease meanwhile', async () => {
      const run = await post('/shells/slow/run', { command: 'echo start; sleep 2; echo end', timeout_seconds: 1 });
      expect(run.body).toMatchObject({ status: 'running', output: 'start\n', exit_code: null });
      expect(activity.running(sbx)).toBeGreaterThan(0);
      const busy = await post('/shells/slow/run', { command: 'true' });
      expect(busy.status).toBe(409);
      const done = await post('/shells/slow/wait', { timeout_seconds: 10, command_id: run.body.command_id });
      expect(done.body).toMatchObject({ status: 'completed', exit_code: 0, output: 'end\n' });
      expect(activity.running(sbx)).toBe(0);
    });

    it('interrupts `sleep 100` and the shell keeps its state', async () => {
      await post('/shells/int/run', { command: 'cd /tmp && Z=kept' });
      const run = await post('/shells/int/run', { command: 'echo before; sleep 100', timeout_seconds: 0 });
      expect(run.body.status).toBe('running');
      const started = Date.now();
      const stopped = await post('/shells/int/interrupt', {});
      expect(stopped.body).toMatchObject({ status: 'completed', shell_exited: false });
      expect(stopped.body.exit_code).toBeGreaterThanOrEqual(128);
      expect(Date.now() - started).toBeLessThan(5_000);
      const after = await post('/shells/int/run', { command: 'echo $Z; pwd' });
      expect(after.body).toMatchObject({ status: 'completed', output: 'kept\n/tmp\n' });
    });

    it('sends input to the running command', async () => {
      const run = await post('/shells/in/run', { command: 'read line; echo "got $line"', timeout_seconds: 0 });
      expect(run.body.status).toBe('running');
      expect((await post('/shells/in/input', { data: 'hello\n' })).status).toBe(204);
      const done = await post('/shells/in/wait', { timeout_seconds: 5 });
      expect(done.body).toMatchObject({ status: 'completed', output: 'got hello\n' });
    });

    it('input written right behind the command reaches the command, never the shell parser', async () => {
      // dash/ash read their script in blocks: input already in the pipe when the shell reads the command
      // line would be parsed as more script (CI saw `read` hang). Writing both in the same tick makes
      // that race certain without the start marker; with it the input is held until the line was read.
      const [row] = await sql<{ container_id: string }>(t.databaseUrl, 'SELECT container_id FROM sandboxes WHERE id = $1', [sbx]);
      const live = { id: sbx, workspaceId: a.id, containerId: row!.container_id, user: SANDBOX_USER, workdir: '/workspace', env: {} };
      const shell = await ShellSession.open(t.app.get<ContainerRuntime>(CONTAINER_RUNTIME), live, 'race', { outputCapBytes: 1 << 20, interruptGraceMs: 1000 });
      try {
        for (let i = 0; i < 5; i++) {
          const cmd = shell.run('read line; echo "got $line"');
          shell.input(Buffer.from(`v${i}\n`));
          expect(await shell.waitFor(cmd, 5_000)).toMatchObject({ status: 'completed', output: `got v${i}\n`, exit_code: 0 });
        }
      } finally {
        shell.close();
      }
    });

    it('deletes a shell; `exit` ends it and the next run starts a fresh one', async () => {
      const exit = await post('/shells/ex/run', { command: 'X=1; exit 4' });
      expect(exit.body).toMatchObject({ status: 'completed', exit_code: 4, shell_exited: true });
      const fresh = await post('/shells/ex/run', { command: 'echo "[$X]"' });
      expect(fresh.body.output).toBe('[]\n');
      expect((await api(t.app, 'DELETE', url('/shells/ex'), { token: dev })).status).toBe(204);
      expect((await post('/shells/ex/wait', {})).status).toBe(404);
    });

    it('ends the shell when a loop inside it ignores the interrupt, and starts a fresh one next time', async () => {
      await post('/shells/loop/run', { command: 'V=1' });
      const run = await post('/shells/loop/run', { command: 'while :; do :; done', timeout_seconds: 0 });
      expect(run.body.status).toBe('running');
      const stopped = await post('/shells/loop/interrupt', {});
      expect(stopped.body).toMatchObject({ status: 'completed', shell_exited: true });
      expect((await post('/shells/loop/run', { command: 'echo "[$V]"' })).body.output).toBe('[]\n');
    });

    it('speaks the same protocol with Debian dash (orcaops/python)', async () => {
      const created = await api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: { image: 'orcaops/python', ttl_seconds: 300 } });
      expect(created.status).toBe(201);
      const at = (path: string): string => `/v1/sandboxes/${created.body.id}${path}`;
      await api(t.app, 'POST', at('/shells/main/run'), { token: dev, body: { command: 'cd /tmp; export X=1' } });
      const state = await api(t.app, 'POST', at('/shells/main/run'), { token: dev, body: { command: 'pwd; echo $X; printf tail' } });
      expect(state.body).toMatchObject({ status: 'completed', exit_code: 0, output: '/tmp\n1\ntail' });
      await api(t.app, 'POST', at('/shells/main/run'), { token: dev, body: { command: 'sleep 100', timeout_seconds: 0 } });
      const stopped = await api(t.app, 'POST', at('/shells/main/interrupt'), { token: dev, body: {} });
      expect(stopped.body).toMatchObject({ status: 'completed', shell_exited: false });
      const after = await api(t.app, 'POST', at('/shells/main/run'), { token: dev, body: { command: 'echo $X' } });
      expect(after.body.output).toBe('1\n');
      await api(t.app, 'DELETE', `/v1/sandboxes/${created.body.id}`, { token: dev });
    });
  });

  describe('background processes', () => {
    /** Polls (bounded) until the process has output after `after`. */
    async function outputAfter(pid: string, after: number): Promise<{ text: string; next: number }> {
      const until = Date.now() + 10_000;
      for (;;) {
        const page = await get(`/processes/${pid}/output?after=${after}`);
        if (page.body.items.length > 0 || Date.now() > until) {
          return { text: page.body.items.map((c: any) => c.data).join(''), next: page.body.next_after };
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    it('runs, is readable incrementally, takes input, holds a lease and can be killed', async () => {
      const before = activity.running(sbx);
      const started = await post('/processes', { command: 'echo ready; cat' });
      expect(started.status).toBe(201);
      const pid = started.body.process_id;
      expect(activity.running(sbx)).toBe(before + 1);
      const first = await outputAfter(pid, 0);
      expect(first.text).toBe('ready\n');
      expect((await post(`/processes/${pid}/input`, { data: 'echoed\n' })).status).toBe(204);
      const next = await outputAfter(pid, first.next);
      expect(next.text).toBe('echoed\n');
      const list = await get('/processes');
      expect(list.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ process_id: pid, running: true })]));
      const killed = await api(t.app, 'DELETE', url(`/processes/${pid}`), { token: dev });
      expect(killed.body).toMatchObject({ running: false });
      expect(activity.running(sbx)).toBe(before);
    });

    it('ends when stdin is closed and reports the exit code', async () => {
      const started = await post('/processes', { args: ['sh', '-c', 'cat; exit 5'] });
      const pid = started.body.process_id;
      await post(`/processes/${pid}/input`, { data: 'bye\n', eof: true });
      const res = await t.app.inject({ method: 'GET', url: url(`/processes/${pid}/output?follow=true`), headers: { authorization: `Bearer ${dev}` } });
      expect(res.body).toContain('"data":"bye\\n"');
      expect(res.body).toMatch(/event: exit\ndata: .*"exit_code":5/);
    });
  });

  describe('files', () => {
    it('round-trips 1 MiB of random bytes (raw upload and download)', async () => {
      const data = randomBytes(1024 * 1024);
      const put = await t.app.inject({
        method: 'PUT',
        url: url('/files/content?path=bin/random.bin'),
        headers: { authorization: `Bearer ${dev}`, 'content-type': 'application/octet-stream' },
        payload: data,
      });
      expect(put.statusCode).toBe(200);
      expect(JSON.parse(put.body)).toMatchObject({ path: '/workspace/bin/random.bin', size: data.length });
      const got = await t.app.inject({
        method: 'GET',
        url: url('/files/content?path=/workspace/bin/random.bin'),
        headers: { authorization: `Bearer ${dev}`, accept: 'application/octet-stream' },
      });
      expect(got.statusCode).toBe(200);
      expect(got.rawPayload.equals(data)).toBe(true);
      const stat = await get('/files/stat?path=bin/random.bin');
      expect(stat.body).toMatchObject({ type: 'file', size: data.length });
    });

    it('writes and reads JSON content, lists, moves, mkdirs and deletes', async () => {
      expect((await post('/files', { path: 'notes/a.txt', content: 'hello\n' })).status).toBe(201);
      expect((await post('/files', { path: 'notes/b.bin', content: Buffer.from([0, 1, 255]).toString('base64'), encoding: 'base64' })).status).toBe(201);
      const read = await get('/files/content?path=notes/a.txt');
      expect(read.body).toMatchObject({ content: 'hello\n', encoding: 'utf8', size: 6 });
      const b64 = await get('/files/content?path=notes/b.bin&encoding=base64');
      expect(Buffer.from(b64.body.content, 'base64')).toEqual(Buffer.from([0, 1, 255]));
      expect((await post('/files/mkdir', { path: 'notes/sub/deeper' })).body).toMatchObject({ type: 'directory' });
      expect((await post('/files/move', { from: 'notes/a.txt', to: 'notes/sub/a.txt' })).body).toMatchObject({ path: '/workspace/notes/sub/a.txt', type: 'file' });
      await post('/exec', { command: 'touch "notes/we ird" && ln -s /etc/passwd notes/link' });
      const list = await get('/files?path=notes');
      const byName = Object.fromEntries(list.body.items.map((i: any) => [i.name, i.type]));
      expect(byName).toEqual({ 'b.bin': 'file', sub: 'directory', 'we ird': 'file', link: 'symlink' });
      expect((await api(t.app, 'DELETE', url('/files?path=notes/sub'), { token: dev })).status).toBe(400);
      expect((await api(t.app, 'DELETE', url('/files?path=notes/sub&recursive=true'), { token: dev })).status).toBe(204);
      expect((await get('/files/stat?path=notes/sub')).status).toBe(404);
    });

    it('refuses to read through a symlink to /etc/passwd (never content)', async () => {
      await post('/exec', { command: 'ln -sf /etc/passwd /workspace/pw; ln -sf ../../../../etc/passwd /tmp/rel' });
      for (const path of ['pw', '/tmp/rel']) {
        const res = await get(`/files/content?path=${encodeURIComponent(path)}`);
        expect(res.status).toBe(400);
        expect(res.body.error.message).toContain('not a regular file (symlink)');
        expect(JSON.stringify(res.body)).not.toContain('root:');
      }
      const dir = await get('/files/content?path=/tmp');
      expect(dir.status).toBe(400);
    });

    it('fails path tricks cleanly', async () => {
      expect((await get('/files/content?path=%00x')).status).toBe(400);
      expect((await get('/files/content?path=/nope/missing')).status).toBe(404);
      // `..` resolves inside the container only; the root filesystem is read-only for the sandbox user.
      const escape = await post('/files', { path: '../../etc/evil', content: 'x' });
      expect(escape.status).toBe(400);
      expect(escape.body.error.code).toBe('bad_request');
      expect((await post('/files', { path: '/', content: 'x' })).status).toBe(400);
    });

    it('round-trips a tar tree and refuses hostile archives', async () => {
      const tar = await tarOf([
        { name: 'proj/', type: 'directory' },
        { name: 'proj/src/main.txt', data: Buffer.from('main') },
        { name: 'proj/data.bin', data: randomBytes(5000) },
      ]);
      const up = await t.app.inject({
        method: 'PUT',
        url: url('/archive?path=upl'),
        headers: { authorization: `Bearer ${dev}`, 'content-type': 'application/x-tar' },
        payload: tar,
      });
      expect(up.statusCode).toBe(200);
      expect(JSON.parse(up.body)).toMatchObject({ path: '/workspace/upl', files: 2 });
      await post('/exec', { command: 'ln -s /etc/passwd upl/proj/link' });
      const down = await t.app.inject({ method: 'GET', url: url('/archive?path=upl/proj'), headers: { authorization: `Bearer ${dev}` } });
      expect(down.statusCode).toBe(200);
      expect(down.headers['x-orcaops-skipped']).toBe('1');
      const entries = await untar(down.rawPayload);
      expect(entries.get('proj/src/main.txt')?.data.toString()).toBe('main');
      expect(entries.get('proj/data.bin')?.data.length).toBe(5000);
      expect([...entries.keys()].some((n) => n.includes('link'))).toBe(false);

      for (const hostile of [
        await tarOf([{ name: '../escape.txt', data: Buffer.from('x') }]),
        await tarOf([{ name: 'l', type: 'symlink', linkname: '/etc/passwd' }]),
        await tarOf([{ name: '/abs.txt', data: Buffer.from('x') }]),
      ]) {
        const res = await t.app.inject({
          method: 'PUT',
          url: url('/archive?path=bad'),
          headers: { authorization: `Bearer ${dev}`, 'content-type': 'application/x-tar' },
          payload: hostile,
        });
        expect(res.statusCode).toBe(400);
      }
      expect((await get('/files/stat?path=bad')).status).toBe(404);
    });
  });

  it('answers 404 for another tenant and 403 without exec permission', async () => {
    const other = b.tokens.developer.token;
    for (const [method, path] of [
      ['POST', '/exec'],
      ['POST', '/shells/main/run'],
      ['GET', '/shells'],
      ['GET', '/processes'],
      ['GET', '/files?path=/workspace'],
      ['GET', '/files/content?path=/etc/hostname'],
    ] as const) {
      const res = await api(t.app, method, url(path), { token: other, body: method === 'POST' ? { command: 'true' } : undefined });
      expect(res.status).toBe(404);
    }
    const viewer = await api(t.app, 'POST', url('/exec'), { token: a.tokens.viewer.token, body: { command: 'true' } });
    expect(viewer.status).toBe(403);
    expect((await api(t.app, 'GET', url('/shells'), { token: a.tokens.viewer.token })).status).toBe(200);
  });
});
