import { declaredTcpPorts, jobContainerOptions, parseDockerDuration, podPortConflicts, RunOptionsError, SERVICE_RESOURCES, serviceContainerOptions } from 'src/services-runtime/service-options';

const MiB = 1024 * 1024;

describe('job container options → job resources and typed container fields', () => {
  it('maps resources to the job request (admitted by policy and quotas) and the rest to the internal spec', () => {
    const mapped = jobContainerOptions('--cpus 2 --memory 1g --pids-limit 256 --user 1000 --tmpfs /cache:size=32m --tmpfs /tmp:size=128m --shm-size 256m --ulimit nofile=4096 --add-host db:10.1.2.3 --init', 512);
    expect(mapped).toEqual({
      resources: { cpu: 2, memory_mb: 1024, pids: 256 },
      internal: { user: '1000:1000', tmpfs: [{ path: '/cache', size_bytes: 32 * MiB, exec: false }], tmp_bytes: 128 * MiB, shm_bytes: 256 * MiB, nofile: 4096 },
      extraHosts: { db: '10.1.2.3' },
      notes: [],
    });
  });

  it('an empty text (an expression that evaluated to empty) changes nothing', () => {
    expect(jobContainerOptions('', 512)).toEqual({ resources: {}, internal: {}, extraHosts: {}, notes: [] });
    expect(jobContainerOptions(undefined, 512)).toEqual({ resources: {}, internal: {}, extraHosts: {}, notes: [] });
  });

  it('never runs the job container as root: --user root is a note, names and group 0 are errors', () => {
    expect(jobContainerOptions('--user root', 512)).toMatchObject({ internal: {}, notes: [expect.stringMatching(/--user root is not applied; the job container never runs as root/)] });
    expect(() => jobContainerOptions('--user postgres', 512)).toThrow(/--user postgres: the job container needs a numeric uid\[:gid\]/);
    expect(() => jobContainerOptions('--user 1000:0', 512)).toThrow(/group 0 \(root\) is not allowed/);
  });

  it('refuses limits above the job maxima, and shm or tmpfs larger than the memory limit, naming each flag', () => {
    let error: unknown;
    try {
      jobContainerOptions('--cpus 16 --memory 16g --pids-limit 16384 --ulimit nofile=1048576 --ulimit core=1 --shm-size 1g', 512);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RunOptionsError);
    expect((error as Error).message).toBe(
      'container options: --cpus 16 is outside 0.1-4; --memory 16384 MB is outside 16-8192 MB; --pids-limit 16384 is outside 16-512; ' +
        '--ulimit nofile=1048576 is above the maximum 65536; --ulimit core must be 0 (core dumps stay off)',
    );
    expect(() => jobContainerOptions('--shm-size 1g', 512)).toThrow('--shm-size 1024 MB is above the memory limit of 512 MB');
    expect(() => jobContainerOptions('--tmpfs /x:size=2g --memory 1g', 512)).toThrow('--tmpfs /x size 2048 MB is above the memory limit of 1024 MB');
  });

  it('refuses unknown flags and --privileged; notes what does not apply to a job container', () => {
    expect(() => jobContainerOptions('--privileged', 512)).toThrow("container options: Option '--privileged' is not allowed");
    expect(() => jobContainerOptions('--security-opt seccomp=unconfined', 512)).toThrow(/Unknown option '--security-opt'/);
    expect(() => jobContainerOptions('--tmpfs /workspace', 512)).toThrow('--tmpfs /workspace: the workspace is already mounted');
    expect(jobContainerOptions('--entrypoint tail --ulimit nproc=100', 512).notes).toEqual([
      'container options: --ulimit nproc is not applied; the pids limit bounds processes',
      'container options: --entrypoint does not apply to the job container (steps run as execs beside a keepalive process)',
    ]);
  });
});

describe('service options → service container fields', () => {
  it('builds a health check from --health-* options', () => {
    const result = serviceContainerOptions({ id: 'db', options: '--health-cmd pg_isready --health-interval 2s --health-timeout 1s --health-retries 4 --cpus 2' });
    expect(result.healthcheck).toEqual({ test: ['CMD-SHELL', 'pg_isready'], intervalMs: 2000, timeoutMs: 1000, retries: 4, startPeriodMs: 0 });
    expect(result.resources).toEqual({ ...SERVICE_RESOURCES, cpus: 2 });
  });

  it('uses the native healthcheck key, and none/tcp give no container health check', () => {
    expect(serviceContainerOptions({ id: 'a', healthcheck: { cmd: ['nc', '-z', 'localhost', '80'], intervalMs: 500 } }).healthcheck).toMatchObject({
      test: ['CMD', 'nc', '-z', 'localhost', '80'],
      intervalMs: 500,
    });
    expect(serviceContainerOptions({ id: 'a', healthcheck: 'none' }).healthcheck).toBeUndefined();
  });

  it('maps user, entrypoint, memory, tmpfs, shm and hosts; the evaluated text wins over the raw one', () => {
    const result = serviceContainerOptions({ id: 'db', options: '${{ x }}' }, '--user 999 --entrypoint docker-entrypoint.sh --memory 128m --tmpfs /var/run/postgresql --shm-size 64m --add-host x:1.2.3.4');
    expect(result).toEqual({
      user: '999',
      entrypoint: 'docker-entrypoint.sh',
      resources: { ...SERVICE_RESOURCES, memoryBytes: 128 * MiB },
      tmpfs: [{ path: '/var/run/postgresql', sizeBytes: 64 * MiB, exec: false }],
      shmBytes: 64 * MiB,
      addHosts: { x: '1.2.3.4' },
      notes: [],
    });
  });

  it('refuses what the bounds refuse, naming the service', () => {
    expect(() => serviceContainerOptions({ id: 'db', options: '--memory 64g' })).toThrow('service db options: --memory 65536 MB is outside 16-8192 MB');
    expect(() => serviceContainerOptions({ id: 'db', options: '--device /dev/kvm' })).toThrow(/service db options: Unknown option '--device'/);
  });
});

describe('helpers', () => {
  it('parses durations with units', () => {
    expect(parseDockerDuration('10s')).toBe(10_000);
    expect(parseDockerDuration('1m30s')).toBe(90_000);
    expect(parseDockerDuration('500ms')).toBe(500);
    expect(parseDockerDuration('3')).toBe(3000);
    expect(parseDockerDuration('soon')).toBeUndefined();
  });

  it('lists declared tcp ports', () => {
    expect(declaredTcpPorts(['5432:5432', '6379', '53/udp', '8080:80/tcp', 'bad'])).toEqual([5432, 6379, 80]);
  });
});

describe('podPortConflicts (runner-style jobs: services share one network namespace)', () => {
  const hint = 'in a runner-style job services share localhost — give one a different port or run the job in a container';

  it('names both services and the port when declared ports or image EXPOSE ports clash', () => {
    expect(podPortConflicts([
      { id: 'db', exposedPorts: ['5432/tcp'], declaredPorts: [] },
      { id: 'replica', exposedPorts: [], declaredPorts: ['15432:5432'] },
    ])).toBe(`services 'db' and 'replica' both listen on 5432/tcp; ${hint}`);
    expect(podPortConflicts([
      { id: 'a', exposedPorts: [], declaredPorts: ['8080', '9000/udp'] },
      { id: 'b', exposedPorts: ['8080/tcp', '9000/udp'], declaredPorts: ['8080/tcp'] },
      { id: 'c', exposedPorts: [], declaredPorts: ['8080'] },
    ])).toBe(`services 'a' and 'b' both listen on 8080/tcp; services 'a' and 'b' both listen on 9000/udp; services 'a' and 'c' both listen on 8080/tcp; ${hint}`);
  });

  it('accepts distinct ports, the same number on tcp and udp, and a service repeating its own port', () => {
    expect(podPortConflicts([
      { id: 'db', exposedPorts: ['5432/tcp'], declaredPorts: ['5432'] },
      { id: 'dns', exposedPorts: ['5432/udp'], declaredPorts: [] },
      { id: 'cache', exposedPorts: ['6379/tcp'], declaredPorts: ['6379'] },
    ])).toBeUndefined();
    expect(podPortConflicts([])).toBeUndefined();
  });
});
