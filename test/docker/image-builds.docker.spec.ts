import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packEntries } from 'src/common/hostile-tar';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { docker, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { listen } from '../support/mcp';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

/**
 * Workspace images built from a Dockerfile on the real engine, through REST and the CLI: a build from
 * orcaops/busybox with COPY + RUN that a job of the workspace then runs, RUN steps without network, a
 * failing RUN with its engine line in the log, a secret masked in the log, a base image from a registry
 * outside the policy refused before anything is built, another workspace refused the image like a
 * missing one (as a job image and as a FROM), and delete removing the image from the engine.
 */
describe('image builds (REST + CLI → Docker classic builder)', () => {
  const SECRET = 'build-secret-7d41c9e2';
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let baseUrl: string;
  let home: string;
  let built: { id: string; image: string; digest: string };

  const tarOf = (files: Record<string, string>): Promise<Buffer> =>
    packEntries(Object.entries(files).map(([name, text]) => ({ name, type: 'file' as const, mode: 0o644, mtime: new Date(0), data: Buffer.from(text) })));
  const startBuild = async (ws: SeededWorkspace, query: string, files: Record<string, string>) => {
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/images/builds?${query}`,
      headers: { authorization: `Bearer ${ws.tokens.developer.token}`, 'content-type': 'application/x-tar' },
      payload: await tarOf(files),
    });
    return { status: response.statusCode, body: JSON.parse(response.body) };
  };
  /** The whole event stream of the build's log: it ends with the build. */
  const followBuild = async (ws: SeededWorkspace, id: string) => {
    const response = await t.app.inject({ method: 'GET', url: `/v1/images/builds/${id}/log?follow=true`, headers: { authorization: `Bearer ${ws.tokens.developer.token}` } });
    const events = response.body.split('\n\n').filter((block) => block.includes('event: '));
    const data = (block: string) => JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))!.slice(6));
    const output = events.filter((e) => e.includes('event: output')).map((e) => data(e).data as string).join('');
    const end = events.find((e) => e.includes('event: end'));
    return { output, build: end ? data(end) : undefined };
  };
  const runJob = async (ws: SeededWorkspace, image: string, command: string) => {
    const res = await api(t.app, 'POST', '/v1/jobs', { token: ws.tokens.developer.token, body: { image, command } });
    expect(res.status).toBe(201);
    let job = res.body;
    while (!['succeeded', 'failed', 'timed_out', 'cancelled'].includes(job.status)) {
      job = (await api(t.app, 'GET', `/v1/jobs/${job.id}/wait?timeout_seconds=120`, { token: ws.tokens.developer.token })).body;
    }
    const logs = await api(t.app, 'GET', `/v1/jobs/${job.id}/logs?format=text`, { token: ws.tokens.developer.token });
    return { ...job, output: logs.body as string };
  };
  const builtImages = async (workspaceId: string) => docker.listImages({ filters: { label: [`orcaops.workspace=${workspaceId}`, 'orcaops.image-kind=build'] } });

  beforeAll(async () => {
    t = await createTestApp();
    baseUrl = await listen(t);
    [a, b] = [await seedWorkspace(t.app, 'imgbuild-a'), await seedWorkspace(t.app, 'imgbuild-b')];
    home = mkdtempSync(join(tmpdir(), 'orcaops-imgbuild-cli-'));
    expect((await api(t.app, 'PUT', '/v1/secrets/BUILD_TOKEN', { token: a.tokens.admin.token, body: { value: SECRET } })).status).toBeLessThan(300);
    const started = await startBuild(a, 'name=tools&tag=v1', {
      Dockerfile: [
        'FROM orcaops/busybox',
        'COPY hello.txt /opt/hello.txt',
        'RUN cat /opt/hello.txt && echo "token ' + SECRET + '"',
        // No network in RUN steps: only the loopback interface, and any address beyond it is unreachable.
        'RUN grep -c : /proc/net/dev; if wget -q -O /dev/null http://10.255.255.1/ 2>/tmp/err; then echo NET-REACHED; exit 1; else echo "NET-BLOCKED $(cat /tmp/err)"; fi',
      ].join('\n'),
      'hello.txt': 'hello from the build context\n',
    });
    expect(started).toMatchObject({ status: 202, body: { status: 'queued', name: 'tools', tag: 'v1' } });
    const { output, build } = await followBuild(a, started.body.id);
    expect(build).toMatchObject({ status: 'succeeded', image: started.body.image, digest: expect.stringMatching(/^sha256:/) });
    expect(output).toContain('hello from the build context');
    built = { id: build.id, image: build.image, digest: build.digest };
  }, 180_000);
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    for (const ws of [a, b]) for (const image of await builtImages(ws.id)) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('REST: the image is in the workspace namespace, labelled for the workspace, built without network, its log masked', async () => {
    expect(built.image).toMatch(/^orcaops-ws-[0-9a-f]{12}\/tools:v1$/);
    const inspect = await docker.getImage(built.image).inspect();
    expect(inspect.Config.Labels).toMatchObject({ 'orcaops.workspace': a.id, 'orcaops.image-kind': 'build', 'orcaops.build-id': built.id });
    const log = await api(t.app, 'GET', `/v1/images/builds/${built.id}/log`, { token: a.tokens.viewer.token });
    expect(log.body.log).toContain('NET-BLOCKED');
    expect(log.body.log).toContain('Network is unreachable');
    // The step line echoes the command; the output line alone would say the address was reached.
    expect(log.body.log).not.toMatch(/^NET-REACHED$/m);
    // /proc/net/dev lists one interface: loopback.
    expect(log.body.log).toMatch(/ ---> Running in \w+\n1\nNET-BLOCKED/);
    expect(log.body.log).toContain('token ***');
    expect(log.body.log).not.toContain(SECRET);
    const listed = await api(t.app, 'GET', '/v1/images/builds', { token: a.tokens.viewer.token });
    expect(listed.body.items.map((i: { id: string }) => i.id)).toContain(built.id);
  });

  it('a job of the workspace runs the image and sees the copied file', async () => {
    const job = await runJob(a, built.image, 'cat /opt/hello.txt');
    expect(job).toMatchObject({ status: 'succeeded' });
    expect(job.output).toContain('hello from the build context');
  });

  it('another workspace cannot use the image: a job fails as with a missing image, a FROM answers 404, the record is 404', async () => {
    const theirs = await runJob(b, built.image, 'true');
    const missing = await runJob(b, built.image.replace('tools:v1', 'nothing:v1'), 'true');
    expect(theirs).toMatchObject({ status: 'failed', reason: 'image_not_found' });
    expect(missing).toMatchObject({ status: 'failed', reason: 'image_not_found' });
    expect(theirs.message.replace('tools', 'X')).toBe(missing.message.replace('nothing', 'X'));
    const from = await startBuild(b, 'name=steal', { Dockerfile: `FROM ${built.image}\nRUN true\n` });
    expect(from.status).toBe(404);
    expect(from.body.error.message).toContain(`line 1: "FROM ${built.image}"`);
    expect((await api(t.app, 'GET', `/v1/images/builds/${built.id}`, { token: b.tokens.admin.token })).status).toBe(404);
    expect((await api(t.app, 'DELETE', `/v1/images/builds/${built.id}`, { token: b.tokens.admin.token })).status).toBe(404);
  });

  it('a failing RUN fails the build with the engine line in the log', async () => {
    const started = await startBuild(a, 'name=broken', { Dockerfile: 'FROM orcaops/busybox\nRUN echo about to fail && exit 3\n' });
    expect(started.status).toBe(202);
    const { output, build } = await followBuild(a, started.body.id);
    expect(build).toMatchObject({ status: 'failed', digest: null });
    expect(build.error).toContain('returned a non-zero code: 3');
    expect(output).toContain('about to fail');
    expect(output).toContain('returned a non-zero code: 3');
  });

  it('a base image from a registry outside the policy is refused before anything is built, naming the line', async () => {
    const before = (await api(t.app, 'GET', '/v1/images/builds', { token: a.tokens.viewer.token })).body.items.length;
    const refused = await startBuild(a, 'name=outside', { Dockerfile: 'FROM orcaops/busybox AS one\nFROM registry.example.com/team/base:1\nCOPY --from=one /bin/sh /sh\n' });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'policy_denied', details: { line: 2, image: 'registry.example.com/team/base:1' } });
    expect(refused.body.error.message).toContain('line 2: "FROM registry.example.com/team/base:1"');
    expect((await api(t.app, 'GET', '/v1/images/builds', { token: a.tokens.viewer.token })).body.items.length).toBe(before);
  });

  it('CLI: build-context streams the build (honouring .dockerignore), images list --built shows it, images delete removes the image', async () => {
    const dir = join(home, 'ctx');
    mkdirSync(join(dir, 'ignored'), { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), 'FROM orcaops/busybox\nCOPY . /ctx/\nRUN ls /ctx > /ctx/listing\n');
    writeFileSync(join(dir, 'kept.txt'), 'kept\n');
    writeFileSync(join(dir, 'ignored', 'big.bin'), 'x'.repeat(1024));
    writeFileSync(join(dir, '.dockerignore'), 'ignored\n');
    const env = { ORCAOPS_URL: baseUrl, ORCAOPS_HOME: home, ORCAOPS_TOKEN: a.tokens.developer.token };
    const run = await runCli(['images', 'build-context', dir, '--tag', 'cli-app:1'], env);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('Step 1/');
    expect(run.stdout).toContain('succeeded');
    const listed = JSON.parse((await runCli(['--json', 'images', 'list', '--built'], env)).stdout);
    const build = listed.items.find((i: { name: string }) => i.name === 'cli-app');
    expect(build).toMatchObject({ status: 'succeeded', tag: '1' });
    const job = await runJob(a, build.image, 'cat /ctx/listing');
    expect(job.output).toContain('kept.txt');
    expect(job.output).not.toContain('ignored');

    expect((await runCli(['images', 'delete', build.id], env)).exitCode).toBe(0);
    expect(await docker.getImage(build.image).inspect().catch(() => undefined)).toBeUndefined();
    expect((await api(t.app, 'GET', `/v1/images/builds/${build.id}`, { token: a.tokens.viewer.token })).status).toBe(404);
    const gone = await runJob(a, build.image, 'true');
    expect(gone).toMatchObject({ status: 'failed', reason: 'image_not_found' });
    const audit = await api(t.app, 'GET', `/v1/audit?resource_type=image_build`, { token: TEST_ADMIN_TOKEN });
    expect(JSON.stringify(audit.body)).toContain('image_build.delete');
  });
});
