import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { ContainerSpec } from 'src/runtime/container-runtime.port';
import { FakeRuntime } from 'src/runtime/fake/fake.runtime';
import { RuntimeError } from 'src/runtime/runtime.errors';

const MiB = 1024 * 1024;

function spec(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    name: 'orcaops-job-1',
    image: 'orcaops/busybox',
    command: ['sleep', '2147483647'],
    env: {},
    labels: { 'orcaops.kind': 'job', 'orcaops.job_id': '1' },
    resources: { cpus: 1, memoryBytes: 64 * MiB, pidsLimit: 32, tmpBytes: MiB, workspaceBytes: 4 * MiB, nofile: 256 },
    network: 'none',
    ...overrides,
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RuntimeError) return error.code;
    throw error;
  }
  return 'resolved';
}

describe('FakeRuntime', () => {
  let fake: FakeRuntime;
  beforeEach(() => {
    fake = new FakeRuntime();
    fake.addImage('orcaops/busybox:latest');
  });

  async function running(overrides: Partial<ContainerSpec> = {}): Promise<string> {
    const id = await fake.createContainer(spec(overrides));
    await fake.startContainer(id);
    return id;
  }

  it('should build the same hardened profile as the Docker adapter and refuse what it refuses', async () => {
    const id = await fake.createContainer(spec());
    expect(fake.containers.get(id)?.createOptions.HostConfig).toMatchObject({ CapDrop: ['ALL'], ReadonlyRootfs: true, NetworkMode: 'none' });
    expect(await codeOf(fake.createContainer(spec({ name: 'other', user: '0:0' })))).toBe('invalid_argument');
    expect(await codeOf(fake.createContainer(spec({ name: 'other', image: 'missing:1' })))).toBe('image_not_found');
    expect(await codeOf(fake.createContainer(spec()))).toBe('conflict');
  });

  it('should throw engine_unavailable from every method while unavailable, and record the calls', async () => {
    fake.available = false;
    expect(await codeOf(fake.ping())).toBe('engine_unavailable');
    expect(await codeOf(fake.createContainer(spec()))).toBe('engine_unavailable');
    expect(fake.calls.map((c) => c.method)).toEqual(['ping', 'createContainer']);
  });

  it('should inject a queued failure once', async () => {
    fake.failNext('startContainer', 'engine_error');
    const id = await fake.createContainer(spec());
    expect(await codeOf(fake.startContainer(id))).toBe('engine_error');
    await expect(fake.startContainer(id)).resolves.toBeUndefined();
  });

  it('should play scripted execs in order, once each, and default to exit 0', async () => {
    const id = await running();
    fake.scriptExec('python3 main.py', { output: [['stdout', 'hi\n'], ['stderr', 'warn\n']], exitCode: 2 });
    fake.scriptExec((argv) => argv[0] === 'make', { exitCode: 5 });
    const chunks: string[] = [];
    const onOutput = (stream: string, chunk: Buffer): number => chunks.push(`${stream}:${chunk.toString()}`);
    expect(await fake.exec(id, { command: ['python3', 'main.py'], onOutput })).toMatchObject({ exitCode: 2, timedOut: false });
    expect(chunks).toEqual(['stdout:hi\n', 'stderr:warn\n']);
    expect((await fake.exec(id, { command: ['python3', 'main.py'] })).exitCode).toBe(0);
    expect((await fake.exec(id, { command: ['make', 'all'] })).exitCode).toBe(5);
    expect(fake.containers.get(id)?.execs.map((e) => e.command[0])).toEqual(['python3', 'python3', 'make']);
  });

  it('should end a hanging exec on its timeout, on abort, and when the container is killed', async () => {
    const id = await running();
    fake.scriptExec('sleep 100', { hang: true }).scriptExec('sleep 100', { hang: true }).scriptExec('sleep 100', { hang: true });
    expect(await fake.exec(id, { command: ['sleep', '100'], timeoutMs: 5 })).toMatchObject({ exitCode: 137, timedOut: true, aborted: false });
    const controller = new AbortController();
    const aborted = fake.exec(id, { command: ['sleep', '100'], signal: controller.signal });
    controller.abort();
    expect(await aborted).toMatchObject({ exitCode: 137, aborted: true, timedOut: false });
    const killed = fake.exec(id, { command: ['sleep', '100'] });
    await fake.kill(id);
    expect(await killed).toMatchObject({ exitCode: 137, aborted: false, timedOut: false });
  });

  it('should not run an exec whose signal is already aborted, nor in a stopped container', async () => {
    const id = await running();
    const controller = new AbortController();
    controller.abort();
    expect(await fake.exec(id, { command: ['true'], signal: controller.signal })).toEqual({ exitCode: null, timedOut: false, aborted: true, durationMs: 0 });
    await fake.kill(id);
    expect(await codeOf(fake.exec(id, { command: ['true'] }))).toBe('conflict');
  });

  it('should resolve wait() when the container exits, with the OOM flag', async () => {
    const id = await running();
    const waiting = fake.wait(id);
    fake.exitContainer(id, 137, { oomKilled: true });
    expect(await waiting).toEqual({ exitCode: 137, oomKilled: true });
    expect(await fake.inspect(id)).toMatchObject({ status: 'exited', exitCode: 137, oomKilled: true });
  });

  it('should run a scripted main process: output to attach listeners, then the container exits with its code', async () => {
    fake.scriptMain(['sh', '-c', 'echo hi; exit 3'], { output: [['stdout', 'hi\n']], exitCode: 3 });
    const id = await fake.createContainer(spec({ command: ['sh', '-c', 'echo hi; exit 3'] }));
    const chunks: string[] = [];
    const { ended } = await fake.attach(id, (stream, chunk) => chunks.push(`${stream}:${chunk.toString()}`));
    await fake.startContainer(id);
    await ended;
    expect(chunks).toEqual(['stdout:hi\n']);
    expect(await fake.wait(id)).toEqual({ exitCode: 3, oomKilled: false });
    // Scripts are used once; an unscripted main process runs until it is stopped.
    const other = await running({ name: 'other', command: ['sh', '-c', 'echo hi; exit 3'] });
    expect((await fake.inspect(other))?.status).toBe('running');
  });

  it('should keep workspace archives to a running container, refuse compressed ones, and serve scripted ones', async () => {
    await fake.createWorkspaceVolume('orcaops-job-1-workspace', 4 * MiB, { 'orcaops.job_id': '1' });
    const id = await fake.createContainer(spec({ workspaceVolume: 'orcaops-job-1-workspace' }));
    const tar = Buffer.alloc(1024);
    expect(await codeOf(fake.putArchive(id, '/workspace', tar))).toBe('conflict');
    await fake.startContainer(id);
    await fake.putArchive(id, '/workspace', tar);
    expect(await codeOf(fake.putArchive(id, '/workspace', gzipSync(tar)))).toBe('invalid_argument');
    expect(fake.containers.get(id)?.archivesPut).toEqual([{ destinationDir: '/workspace', tar }]);
    fake.setArchive(id, '/workspace/out', tar);
    const chunks: Buffer[] = [];
    for await (const chunk of await fake.getArchive(id, '/workspace/out')) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(tar);
    expect(await codeOf(fake.getArchive(id, '/workspace/missing'))).toBe('path_not_found');
  });

  it('should remove the container with its workspace volume, and list by label only', async () => {
    await fake.createWorkspaceVolume('orcaops-job-1-workspace', 4 * MiB, { 'orcaops.job_id': '1' });
    const id = await running({ workspaceVolume: 'orcaops-job-1-workspace' });
    expect(await fake.listContainers({ 'orcaops.job_id': '1' })).toEqual([
      { id, name: 'orcaops-job-1', status: 'running', labels: expect.objectContaining({ 'orcaops.workspace_volume': 'orcaops-job-1-workspace' }) },
    ]);
    expect(await codeOf(fake.listContainers({}))).toBe('invalid_argument');
    expect(await codeOf(fake.removeVolume('orcaops-job-1-workspace'))).toBe('conflict');
    await fake.remove(id);
    await fake.remove(id);
    expect(await fake.listContainers({ 'orcaops.job_id': '1' })).toEqual([]);
    expect(await fake.listVolumes({ 'orcaops.job_id': '1' })).toEqual([]);
  });

  it('should import an image and take its user from the changes', async () => {
    const info = await fake.importImage(Readable.from([Buffer.alloc(10)]), 'orcaops/custom', 'v1', ['USER 1000:1000']);
    expect(info).toMatchObject({ tags: ['orcaops/custom:v1'], sizeBytes: 10, user: '1000:1000' });
    expect(await fake.inspectImage('orcaops/custom:v1')).toEqual(info);
    expect(await fake.inspectImage('orcaops/busybox')).toBeDefined();
  });
});
