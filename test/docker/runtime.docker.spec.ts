/**
 * DockerRuntime against the real engine (opt-out with ORCAOPS_SKIP_DOCKER_TESTS=1; skipped when no socket).
 * Uses only the local images orcaops/busybox and orcaops/python, never pulls. Everything created carries
 * the label orcaops.test=<run id> and is removed in afterAll.
 */
import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import type { ContainerNetwork, ContainerResources, ExecOptions } from 'src/runtime/container-runtime.port';
import { workspaceVolumeName } from 'src/runtime/container-runtime.port';
import { DockerRuntime } from 'src/runtime/docker/docker.runtime';
import { EGRESS_NETWORK } from 'src/runtime/docker/hardening';
import { GROUP_WRAPPER, processGroupKiller } from 'src/runtime/docker/process-group';
import { RuntimeError } from 'src/runtime/runtime.errors';

const SOCKET = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice('unix://'.length) : '/var/run/docker.sock';
const enabled = existsSync(SOCKET) && process.env.ORCAOPS_SKIP_DOCKER_TESTS !== '1';
const describeDocker = enabled ? describe : describe.skip;

const BUSYBOX = 'orcaops/busybox:latest';
const PYTHON = 'orcaops/python:latest';
const KEEPALIVE = ['sleep', '2147483647'];
const MiB = 1024 * 1024;
const RESOURCES: ContainerResources = { cpus: 1, memoryBytes: 256 * MiB, pidsLimit: 64, tmpBytes: 4 * MiB, workspaceBytes: 8 * MiB, nofile: 1024 };

const runId = randomUUID().slice(0, 8);
const TEST_LABEL = { 'orcaops.test': runId };
const rt = new DockerRuntime(SOCKET);
const docker = new Docker({ socketPath: SOCKET });
let sequence = 0;

interface SandboxOptions {
  image?: string;
  command?: string[];
  resources?: Partial<ContainerResources>;
  network?: ContainerNetwork;
  workspace?: boolean;
  start?: boolean;
  labels?: Record<string, string>;
}

async function createSandbox(options: SandboxOptions = {}): Promise<{ id: string; name: string; volume?: string }> {
  const name = `orcaops-test-${runId}-${++sequence}`;
  const labels = { 'orcaops.managed': 'true', 'orcaops.kind': 'test', ...TEST_LABEL, ...options.labels };
  const resources = { ...RESOURCES, ...options.resources };
  const volume = options.workspace === false ? undefined : workspaceVolumeName(name);
  if (volume) await rt.createWorkspaceVolume(volume, resources.workspaceBytes, labels);
  const id = await rt.createContainer({
    name,
    image: options.image ?? BUSYBOX,
    command: options.command ?? KEEPALIVE,
    env: { ORCAOPS_TEST: runId },
    labels,
    resources,
    network: options.network ?? 'none',
    workspaceVolume: volume,
  });
  if (options.start !== false) await rt.startContainer(id);
  return { id, name, volume };
}

async function run(id: string, command: string[], options: Omit<ExecOptions, 'command'> = {}) {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const result = await rt.exec(id, {
    ...options,
    command,
    onOutput: (stream, chunk) => {
      (stream === 'stdout' ? stdout : stderr).push(chunk);
      options.onOutput?.(stream, chunk);
    },
  });
  return { ...result, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
}

/** Command lines of every process in the container (works without ps, e.g. in Debian minbase). */
async function processList(id: string): Promise<string> {
  const listing = await run(id, ['sh', '-c', 'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f" 2>/dev/null; echo; done']);
  return listing.stdout;
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

function tarOf(files: Record<string, string>): Promise<Buffer> {
  const archive = pack();
  for (const [name, content] of Object.entries(files)) archive.entry({ name, mode: 0o644, uid: 65534, gid: 65534 }, content);
  archive.finalize();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    archive.on('data', (chunk: unknown) => void chunks.push(chunk as Buffer));
    archive.on('end', () => resolve(Buffer.concat(chunks)));
    archive.on('error', reject);
  });
}

function readTar(stream: Readable): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const parser = extract();
  return new Promise((resolve, reject) => {
    parser.on('entry', (header, entry, next) => {
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: unknown) => void chunks.push(chunk as Buffer));
      entry.on('end', () => {
        files.set(header.name, Buffer.concat(chunks).toString('utf8'));
        next();
      });
    });
    parser.on('finish', () => resolve(files));
    parser.on('error', reject);
    stream.pipe(parser);
  });
}

/** For conditions the engine offers no event for (cgroup counters). */
async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describeDocker('DockerRuntime on the real engine', () => {
  let shared: { id: string; name: string; volume?: string };
  let egressExisted = true;
  const importedImages: string[] = [];

  beforeAll(async () => {
    await rt.ping();
    egressExisted = await docker
      .getNetwork(EGRESS_NETWORK)
      .inspect()
      .then(() => true)
      .catch(() => false);
    shared = await createSandbox();
  });

  afterAll(async () => {
    const filters = { label: [`orcaops.test=${runId}`] };
    const containers = await docker.listContainers({ all: true, filters });
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
    const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
    await Promise.all(volumes.map((v) => docker.getVolume(v.Name).remove().catch(() => undefined)));
    for (const image of importedImages) await docker.getImage(image).remove({ force: true }).catch(() => undefined);
    if (!egressExisted) await docker.getNetwork(EGRESS_NETWORK).remove().catch(() => undefined);
  });

  describe('the hardened profile', () => {
    it('should be what the engine actually applied (docker inspect), not only what was requested', async () => {
      const info = await docker.getContainer(shared.id).inspect();
      const host = info.HostConfig as Docker.HostConfig & Record<string, unknown>;
      expect(host.NetworkMode).toBe('none');
      expect(host.CapDrop).toEqual(['ALL']);
      expect(host.CapAdd ?? null).toBeNull();
      expect(host.SecurityOpt).toEqual(['no-new-privileges:true']);
      expect(host.Privileged).toBe(false);
      expect(host.ReadonlyRootfs).toBe(true);
      expect(host.Memory).toBe(RESOURCES.memoryBytes);
      expect(host.MemorySwap).toBe(host.Memory);
      expect(host.NanoCpus).toBe(1_000_000_000);
      expect(host.PidsLimit).toBe(RESOURCES.pidsLimit);
      expect(host.Init).toBe(true);
      expect(host.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '2m', 'max-file': '1' } });
      expect(host.IpcMode).toBe('private');
      expect(host.ShmSize).toBe(64 * MiB);
      expect(host.RestartPolicy?.Name).toBe('no');
      expect(host.AutoRemove).toBe(false);
      expect(host.Tmpfs).toEqual({ '/tmp': `rw,nosuid,nodev,noexec,size=${4 * MiB},mode=1777` });
      expect(host.Ulimits).toEqual([
        { Name: 'nofile', Soft: 1024, Hard: 1024 },
        { Name: 'core', Soft: 0, Hard: 0 },
        { Name: 'fsize', Soft: 8 * MiB, Hard: 8 * MiB },
      ]);
      expect(host.Binds ?? null).toBeNull();
      expect(host.Devices ?? []).toEqual([]);
      expect(host.VolumesFrom ?? null).toBeNull();
      expect(info.Mounts.map((m) => [m.Type, m.Name, m.Destination, m.RW])).toEqual([['volume', shared.volume, '/workspace', true]]);
      expect(info.Config.User).toBe('65534:65534');
      expect(info.Config.Hostname).toBe('sandbox');
      expect(info.Config.Labels).toMatchObject({ 'orcaops.test': runId, 'orcaops.workspace_volume': shared.volume });
    });

    it('should leave the process no capabilities, no-new-privileges, seccomp filtering and nobody as user', async () => {
      const status = await run(shared.id, ['sh', '-c', 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; id -u; id -g; hostname']);
      expect(status.stdout).toMatch(/CapEff:\s+0000000000000000/);
      expect(status.stdout).toMatch(/CapBnd:\s+0000000000000000/);
      expect(status.stdout).toMatch(/NoNewPrivs:\s+1/);
      expect(status.stdout).toMatch(/Seccomp:\s+2/);
      expect(status.stdout).toMatch(/\n65534\n65534\nsandbox\n$/);
    });

    it('should apply the nofile, core and fsize limits', async () => {
      const limits = await run(shared.id, ['cat', '/proc/self/limits']);
      expect(limits.stdout).toMatch(/Max file size\s+8388608\s+8388608\s+bytes/);
      expect(limits.stdout).toMatch(/Max core file size\s+0\s+0\s+bytes/);
      expect(limits.stdout).toMatch(/Max open files\s+1024\s+1024\s+files/);
    });

    it('should refuse writes to the root filesystem (EROFS)', async () => {
      const result = await run(shared.id, ['touch', '/etc/owned']);
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain('Read-only file system');
    });

    it('should give a writable workspace that stops at its size (ENOSPC)', async () => {
      const box = await createSandbox();
      const first = await run(box.id, ['dd', 'if=/dev/zero', 'of=/workspace/a', 'bs=1M', 'count=6']);
      expect(first.exitCode).toBe(0);
      // Two files, each under the fsize limit, so the tmpfs cap (not SIGXFSZ) is what stops the second.
      const second = await run(box.id, ['dd', 'if=/dev/zero', 'of=/workspace/b', 'bs=1M', 'count=6']);
      expect(second.exitCode).not.toBe(0);
      expect(second.stderr).toContain('No space left on device');
      const mount = await run(box.id, ['grep', ' /workspace ', '/proc/mounts']);
      expect(mount.stdout).toMatch(/tmpfs \/workspace tmpfs rw,nosuid,nodev,.*size=8192k,mode=700,uid=65534,gid=65534/);
    });

    it('should give a sized tmpfs workspace owned by the user without a volume, reachable by tar over exec only', async () => {
      const box = await createSandbox({ workspace: false });
      const mount = await run(box.id, ['sh', '-c', 'grep " /workspace " /proc/mounts; stat -c %u:%g /workspace']);
      // Owner as asked. (The effective mode is 755, not the mode=700 asked: the engine's tmpcopyup copies
      // the mode of the /workspace directory it created in the image layer; harmless with one uid in use.)
      expect(mount.stdout).toMatch(/^tmpfs \/workspace tmpfs rw,nosuid,nodev,.*size=8192k,mode=700,uid=65534,gid=65534.*\n65534:65534\n$/);
      const fill = await run(box.id, ['sh', '-c', 'dd if=/dev/zero of=/workspace/a bs=1M count=6 && dd if=/dev/zero of=/workspace/b bs=1M count=6']);
      expect(fill.stderr).toContain('No space left on device');
      // The archive API does not see HostConfig.Tmpfs mounts: it hits the read-only root instead.
      expect(await codeOf(rt.putArchive(box.id, '/workspace', await tarOf({ 'x.txt': 'x' })))).toBe('invalid_argument');
      // tar through the exec streams works both ways, binary-safe.
      await run(box.id, ['rm', '-f', '/workspace/a', '/workspace/b']);
      const copyIn = await run(box.id, ['tar', '-x', '-f', '-', '-C', '/workspace'], { stdin: await tarOf({ 'in.txt': 'in\n' }), timeoutMs: 30_000 });
      expect(copyIn.exitCode).toBe(0);
      const out: Buffer[] = [];
      await rt.exec(box.id, { command: ['tar', '-c', '-f', '-', '-C', '/workspace', 'in.txt'], onOutput: (stream, chunk) => void (stream === 'stdout' && out.push(chunk)) });
      expect([...(await readTar(Readable.from([Buffer.concat(out)]))).entries()]).toEqual([['in.txt', 'in\n']]);
    });

    it('should cap /tmp at its size and forbid executing from it', async () => {
      const box = await createSandbox();
      const fill = await run(box.id, ['dd', 'if=/dev/zero', 'of=/tmp/fill', 'bs=1M', 'count=8']);
      expect(fill.exitCode).not.toBe(0);
      expect(fill.stderr).toContain('No space left on device');
      const exec = await run(box.id, ['sh', '-c', 'rm -f /tmp/fill; cp /bin/busybox /tmp/bb && /tmp/bb true']);
      expect(exec.exitCode).toBe(126);
    });

    it('should leave no network but loopback with network none (ENETUNREACH)', async () => {
      const box = await createSandbox({ image: PYTHON, workspace: false });
      const probe = await run(box.id, [
        'python3',
        '-c',
        'import socket,errno\ntry:\n  socket.create_connection(("1.1.1.1", 80), timeout=3)\n  print("connected")\nexcept OSError as e:\n  print(errno.errorcode.get(e.errno))',
      ]);
      expect(probe.stdout.trim()).toBe('ENETUNREACH');
      const links = await run(box.id, ['cat', '/proc/net/dev']);
      expect(links.stdout).toMatch(/\blo:/);
      expect(links.stdout).not.toMatch(/\beth0:/);
    });

    it('should attach egress containers to the dedicated internal bridge (no route out but the gateway) with inter-container traffic off', async () => {
      const box = await createSandbox({ network: 'egress', workspace: false, start: false });
      const info = await docker.getContainer(box.id).inspect();
      expect(info.HostConfig.NetworkMode).toBe(EGRESS_NETWORK);
      const network = await docker.getNetwork(EGRESS_NETWORK).inspect();
      expect(network.Driver).toBe('bridge');
      expect(network.Internal).toBe(true);
      expect(network.Options?.['com.docker.network.bridge.enable_icc']).toBe('false');
    });

    it('should stop a fork bomb at the pids limit and keep the engine healthy', async () => {
      // Every process forks forever and shrugs off EAGAIN (shells exit on a failed fork, so a shell bomb burns out).
      const bomb = 'import os\nwhile True:\n  try:\n    os.fork()\n  except OSError:\n    pass';
      const box = await createSandbox({ image: PYTHON, command: ['python3', '-c', bomb], resources: { pidsLimit: 32 }, workspace: false });
      const stats = await eventually(() => rt.stats(box.id), (s) => s.pids >= 30);
      expect(stats.pids).toBeGreaterThanOrEqual(30);
      expect(stats.pids).toBeLessThanOrEqual(32);
      await rt.kill(box.id);
      expect((await rt.wait(box.id)).exitCode).toBe(137);
      expect((await rt.ping()).version).toBeTruthy();
      expect((await run(shared.id, ['echo', 'still fine'])).stdout).toBe('still fine\n');
    });

    it('should give up killing an exec when the pids limit leaves no room for the killer, instead of hanging', async () => {
      const box = await createSandbox({ image: PYTHON, resources: { pidsLimit: 32 }, workspace: false });
      const bomb = 'import os\nwhile True:\n  try:\n    os.fork()\n  except OSError:\n    pass';
      const started = Date.now();
      const result = await run(box.id, ['python3', '-c', bomb], { timeoutMs: 1000 });
      // exitCode null = the processes may still run: the caller kills the container.
      expect(result).toMatchObject({ timedOut: true, exitCode: null });
      // A bound, not a benchmark: 1 s timeout + the killer's grace, with room for a loaded CI machine.
      expect(Date.now() - started).toBeLessThan(15_000);
      await rt.kill(box.id);
      expect((await rt.wait(box.id)).exitCode).toBe(137);
    });

    it('should report an OOM kill from wait() for a memory hog', async () => {
      const box = await createSandbox({
        image: PYTHON,
        command: ['python3', '-c', 'x = b"x" * (256 << 20)'],
        resources: { memoryBytes: 64 * MiB },
        workspace: false,
      });
      expect(await rt.wait(box.id)).toEqual({ exitCode: 137, oomKilled: true });
      expect((await rt.inspect(box.id))?.oomKilled).toBe(true);
    });
  });

  describe('exec', () => {
    it('should stream stdout and stderr separately and report the exit code', async () => {
      const events: string[] = [];
      const result = await run(shared.id, ['sh', '-c', 'echo one; echo warn >&2; echo two; exit 3'], {
        onOutput: (stream, chunk) => events.push(`${stream}:${chunk.toString()}`),
      });
      expect(result).toMatchObject({ exitCode: 3, timedOut: false, aborted: false, stdout: 'one\ntwo\n', stderr: 'warn\n' });
      expect(events.join('')).toContain('stderr:warn\n');
    });

    it('should deliver the first chunk before the exec has finished', async () => {
      let resolveFirst: (at: number) => void = () => undefined;
      const first = new Promise<number>((resolve) => (resolveFirst = resolve));
      const pending = run(shared.id, ['sh', '-c', 'echo early; sleep 1; echo late'], { onOutput: () => resolveFirst(Date.now()) });
      const firstAt = await first;
      const result = await pending;
      expect(Date.now() - firstAt).toBeGreaterThanOrEqual(800);
      expect(result.stdout).toBe('early\nlate\n');
    });

    it('should pass stdin and close it (small and multi-megabyte)', async () => {
      expect((await run(shared.id, ['cat'], { stdin: 'hello stdin\n' })).stdout).toBe('hello stdin\n');
      const big = await run(shared.id, ['wc', '-c'], { stdin: Buffer.alloc(3 * MiB, 0x61), timeoutMs: 30_000 });
      expect(big.stdout.trim()).toBe(String(3 * MiB));
    });

    it('should pass env, cwd and user, and work in the workspace', async () => {
      const result = await run(shared.id, ['sh', '-c', 'echo "$GREETING $(pwd) $(id -u)"; echo data > file && cat file'], {
        env: { GREETING: 'hi' },
        cwd: '/workspace',
        user: '65534:65534',
      });
      expect(result.stdout).toBe('hi /workspace 65534\ndata\n');
    });

    it('should report exit codes with and without the process-group wrapper', async () => {
      expect((await run(shared.id, ['sh', '-c', 'exit 7'])).exitCode).toBe(7);
      expect((await run(shared.id, ['sh', '-c', 'exit 7'], { timeoutMs: 30_000 })).exitCode).toBe(7);
      expect((await run(shared.id, ['false'], { timeoutMs: 30_000 })).exitCode).toBe(1);
      expect((await run(shared.id, ['no-such-program'])).exitCode).toBe(126);
      expect((await run(shared.id, ['no-such-program'], { timeoutMs: 30_000 })).exitCode).toBe(127);
      // The wrapper runs the program itself, not a shell builtin of the same name.
      expect((await run(shared.id, ['echo', '-n', 'x'], { timeoutMs: 30_000 })).stdout).toBe('x');
    });

    it('should refuse a root user and an empty argv before reaching the engine', async () => {
      expect(await codeOf(rt.exec(shared.id, { command: ['id'], user: '0:0' }))).toBe('invalid_argument');
      expect(await codeOf(rt.exec(shared.id, { command: [] }))).toBe('invalid_argument');
    });

    it('should not run anything when the signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      const result = await run(shared.id, ['touch', '/workspace/should-not-exist'], { signal: controller.signal });
      expect(result).toMatchObject({ exitCode: null, aborted: true, timedOut: false });
      expect((await run(shared.id, ['ls', '/workspace'])).stdout).not.toContain('should-not-exist');
    });

    describe.each([BUSYBOX, PYTHON])('process-group kill in %s', (image) => {
      let box: { id: string };
      beforeAll(async () => {
        box = await createSandbox({ image, workspace: false });
      });

      it('should kill the whole process tree on timeout within timeout + 2 s', async () => {
        const started = Date.now();
        const result = await run(box.id, ['sh', '-c', 'sleep 100 & sleep 100; wait'], { timeoutMs: 1000 });
        const elapsed = Date.now() - started;
        expect(result).toMatchObject({ timedOut: true, aborted: false, exitCode: 137 });
        expect(elapsed).toBeGreaterThanOrEqual(1000);
        expect(elapsed).toBeLessThan(3000);
        expect(await processList(box.id)).not.toContain('sleep 100');
      });

      it('should kill the whole process tree when the signal aborts', async () => {
        const controller = new AbortController();
        const started = Date.now();
        const result = await run(box.id, ['sh', '-c', 'sleep 100 & echo ready; sleep 100; wait'], {
          signal: controller.signal,
          onOutput: () => controller.abort(),
        });
        expect(result).toMatchObject({ aborted: true, timedOut: false, exitCode: 137, stdout: 'ready\n' });
        expect(Date.now() - started).toBeLessThan(3000);
        expect(await processList(box.id)).not.toContain('sleep 100');
      });

      it('should fall back to setsid when the wrapper does not lead a process group (runtimes other than runc)', async () => {
        // The wrapper as a background child of a non-interactive shell shares that shell's group.
        const id = randomUUID();
        const nested = (argv: string[]): string[] => ['sh', '-c', 's=$1; shift; sh -c "$s" "$@" & wait $!', 'sh', GROUP_WRAPPER, 'sh', `orcaops-exec-${id}`, ...argv];
        expect((await run(box.id, nested(['sh', '-c', 'exit 5']))).exitCode).toBe(5);
        const groups = await run(box.id, nested(['sh', '-c', 'read -r s < /proc/$$/stat; echo "$s"']));
        // After "(comm) ": state, ppid, pgrp, session. The program's parent (the wrapper) leads its group and session.
        const [, ppid, pgrp, session] = groups.stdout.replace(/^.*\) /, '').split(' ');
        expect(pgrp).toBe(ppid);
        expect(session).toBe(ppid);
        const running = run(box.id, nested(['sh', '-c', 'sleep 100 & echo ready; sleep 100; wait']), {
          onOutput: () => void rt.exec(box.id, { command: processGroupKiller(id) }),
        });
        expect((await running).exitCode).toBe(137);
        expect(await processList(box.id)).not.toContain('sleep 100');
      });
    });
  });

  describe('archives', () => {
    it('should refuse to put an archive into the workspace of a container that is not running (it would be lost)', async () => {
      // The tmpfs behind the volume is mounted only while the container runs; the engine would accept the
      // copy into a throwaway mount and the files would be gone at start.
      const box = await createSandbox({ start: false });
      expect(await codeOf(rt.putArchive(box.id, '/workspace', await tarOf({ 'hello.txt': 'x' })))).toBe('conflict');
      expect(await codeOf(rt.getArchive(box.id, '/workspace'))).toBe('conflict');
    });

    it('should put an uncompressed tar into the workspace after the keepalive starts, before any exec, and read it from an exec', async () => {
      const box = await createSandbox();
      await rt.putArchive(box.id, '/workspace', await tarOf({ 'hello.txt': 'hello from the host\n', 'dir/nested.txt': 'nested\n' }));
      const result = await run(box.id, ['sh', '-c', 'cat /workspace/hello.txt /workspace/dir/nested.txt; stat -c %u:%g /workspace/hello.txt']);
      expect(result.stdout).toBe('hello from the host\nnested\n65534:65534\n');
    });

    it('should refuse a compressed archive and a destination on the read-only root', async () => {
      const tar = await tarOf({ 'a.txt': 'a' });
      expect(await codeOf(rt.putArchive(shared.id, '/workspace', gzipSync(tar)))).toBe('invalid_argument');
      expect(await codeOf(rt.putArchive(shared.id, '/etc', tar))).toBe('invalid_argument');
      expect(await codeOf(rt.putArchive(shared.id, '/workspace/missing-dir', tar))).toBe('path_not_found');
    });

    it('should get a file as a tar stream, and report a missing path as path_not_found', async () => {
      await run(shared.id, ['sh', '-c', 'echo result > /workspace/out.txt']);
      const files = await readTar(await rt.getArchive(shared.id, '/workspace/out.txt'));
      expect([...files.entries()]).toEqual([['out.txt', 'result\n']]);
      expect(await codeOf(rt.getArchive(shared.id, '/workspace/image.png'))).toBe('path_not_found');
    });
  });

  describe('lifecycle', () => {
    it('should report CPU time, memory and pids in stats after work', async () => {
      await run(shared.id, ['sh', '-c', 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done']);
      const stats = await rt.stats(shared.id);
      expect(stats.cpuSeconds).toBeGreaterThan(0);
      expect(stats.memoryBytes).toBeGreaterThan(0);
      expect(stats.pids).toBeGreaterThanOrEqual(1);
      const info = await rt.ping();
      if (info.cgroupVersion === '1') expect(stats.memoryPeakBytes).toBeGreaterThan(0);
    });

    it('should wait for a container to exit and report its code; kill defaults to SIGKILL and ignores stopped containers', async () => {
      const exits = await createSandbox({ command: ['sh', '-c', 'exit 5'], workspace: false });
      expect(await rt.wait(exits.id)).toEqual({ exitCode: 5, oomKilled: false });
      expect(await rt.inspect(exits.id)).toMatchObject({ status: 'exited', exitCode: 5, oomKilled: false });
      // A process that ignores SIGTERM still dies: kill is SIGKILL by default.
      const stubborn = await createSandbox({ command: ['sh', '-c', 'trap "" TERM; sleep 2147483647'], workspace: false });
      await rt.kill(stubborn.id);
      expect(await rt.wait(stubborn.id)).toEqual({ exitCode: 137, oomKilled: false });
      await expect(rt.kill(stubborn.id)).resolves.toBeUndefined();
    });

    it('should inspect a container and return undefined for a missing one', async () => {
      const state = await rt.inspect(shared.id);
      expect(state).toMatchObject({ id: shared.id, name: shared.name, status: 'running', exitCode: null, oomKilled: false, finishedAt: null });
      expect(state?.startedAt).toMatch(/^\d{4}-/);
      expect(await rt.inspect(`orcaops-test-${runId}-missing`)).toBeUndefined();
    });

    it('should list containers and volumes by label, in every state', async () => {
      const marker = { 'orcaops.list_probe': randomUUID() };
      const created = await createSandbox({ start: false, labels: marker });
      const listed = await rt.listContainers({ ...TEST_LABEL, ...marker });
      // createdAt: the operator views show each object's age.
      expect(listed).toEqual([{ id: created.id, name: created.name, status: 'created', labels: expect.objectContaining(marker), createdAt: expect.any(String) }]);
      expect(await rt.listVolumes(marker)).toEqual([{ name: created.volume, labels: expect.objectContaining(marker), createdAt: expect.any(String) }]);
      expect((await rt.listContainers(TEST_LABEL)).length).toBeGreaterThan(1);
      expect(await codeOf(rt.listContainers({}))).toBe('invalid_argument');
    });

    it('should remove the container and its workspace volume, and treat missing ones as done', async () => {
      const box = await createSandbox({ labels: { 'orcaops.remove_probe': runId } });
      await run(box.id, ['sh', '-c', 'echo x > /workspace/x']);
      await rt.remove(box.id);
      expect(await rt.inspect(box.id)).toBeUndefined();
      expect(await rt.listVolumes({ 'orcaops.remove_probe': runId })).toEqual([]);
      await expect(rt.remove(box.id)).resolves.toBeUndefined();
      await expect(rt.removeVolume(box.volume!)).resolves.toBeUndefined();
    });

    it('should refuse to reuse a workspace volume name with other options, and to mount a missing volume', async () => {
      const name = `orcaops-test-${runId}-volume`;
      await rt.createWorkspaceVolume(name, 4 * MiB, TEST_LABEL);
      await expect(rt.createWorkspaceVolume(name, 4 * MiB, TEST_LABEL)).resolves.toBeUndefined();
      expect(await codeOf(rt.createWorkspaceVolume(name, 8 * MiB, TEST_LABEL))).toBe('conflict');
      const spec = { name: `orcaops-test-${runId}-novol`, image: BUSYBOX, command: KEEPALIVE, env: {}, labels: TEST_LABEL, resources: RESOURCES, network: 'none' as const };
      expect(await codeOf(rt.createContainer({ ...spec, workspaceVolume: `orcaops-test-${runId}-nope` }))).toBe('invalid_argument');
    });

    it('should import an image from a root filesystem tar and report its user', async () => {
      const repository = `orcaops-test/import-${runId}`;
      importedImages.push(`${repository}:v1`);
      const info = await rt.importImage(Readable.from([await tarOf({ 'hello.txt': 'hi' })]), repository, 'v1', ['USER 65534:65534', `LABEL orcaops.test=${runId}`]);
      expect(info.tags).toEqual([`${repository}:v1`]);
      expect(info.user).toBe('65534:65534');
      expect((await rt.inspectImage(`${repository}:v1`))?.id).toBe(info.id);
      expect((await rt.inspectImage(BUSYBOX))?.user).toBe('');
      expect(await rt.inspectImage('orcaops-test/never-existed:nope')).toBeUndefined();
    });
  });

  describe('errors', () => {
    it('should map a missing image to image_not_found (and never pull)', async () => {
      const spec = { name: `orcaops-test-${runId}-noimage`, image: 'orcaops-test/never-existed:nope', command: KEEPALIVE, env: {}, labels: TEST_LABEL, resources: RESOURCES, network: 'none' as const };
      expect(await codeOf(rt.createContainer(spec))).toBe('image_not_found');
    });

    it('should map an unreachable engine to engine_unavailable', async () => {
      const offline = new DockerRuntime(`/tmp/orcaops-no-such-socket-${runId}.sock`);
      expect(await codeOf(offline.ping())).toBe('engine_unavailable');
      expect(await codeOf(offline.listContainers(TEST_LABEL))).toBe('engine_unavailable');
    });

    it('should map missing containers to container_not_found and a stopped container to conflict', async () => {
      const missing = `orcaops-test-${runId}-missing`;
      expect(await codeOf(rt.kill(missing))).toBe('container_not_found');
      expect(await codeOf(rt.startContainer(missing))).toBe('container_not_found');
      expect(await codeOf(rt.exec(missing, { command: ['true'] }))).toBe('container_not_found');
      expect(await codeOf(rt.getArchive(missing, '/workspace'))).toBe('container_not_found');
      const stopped = await createSandbox({ command: ['true'], workspace: false });
      await rt.wait(stopped.id);
      expect(await codeOf(rt.exec(stopped.id, { command: ['true'] }))).toBe('conflict');
    });

    it('should map a name clash to conflict', async () => {
      const spec = { name: shared.name, image: BUSYBOX, command: KEEPALIVE, env: {}, labels: TEST_LABEL, resources: RESOURCES, network: 'none' as const };
      expect(await codeOf(rt.createContainer(spec))).toBe('conflict');
    });
  });
});
