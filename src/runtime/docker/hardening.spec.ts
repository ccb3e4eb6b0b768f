import type { ContainerSpec } from 'src/runtime/container-runtime.port';
import { WORKSPACE_VOLUME_LABEL } from 'src/runtime/container-runtime.port';
import {
  buildCreateOptions,
  buildDataVolumeOptions,
  buildEgressNetworkOptions,
  buildWorkspaceVolumeOptions,
  isCompressedArchive,
  isSizedTmpfsVolume,
  toLabelFilters,
} from 'src/runtime/docker/hardening';
import { RuntimeError } from 'src/runtime/runtime.errors';

const MiB = 1024 * 1024;

function spec(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    name: 'orcaops-job-0b9f',
    image: 'sha256:abc',
    command: ['sleep', '2147483647'],
    env: { LANG: 'C.UTF-8' },
    labels: { 'orcaops.job_id': '0b9f' },
    resources: { cpus: 1, memoryBytes: 512 * MiB, pidsLimit: 128, tmpBytes: 64 * MiB, workspaceBytes: 256 * MiB, nofile: 1024 },
    network: 'none',
    workspaceVolume: 'orcaops-job-0b9f-workspace',
    ...overrides,
  };
}

function refusal(fn: () => unknown): RuntimeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RuntimeError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('buildCreateOptions', () => {
  it('should build exactly the hardening.md §1.1 profile, field by field', () => {
    expect(buildCreateOptions(spec())).toEqual({
      name: 'orcaops-job-0b9f',
      Image: 'sha256:abc',
      Cmd: ['sleep', '2147483647'],
      Env: ['LANG=C.UTF-8'],
      Labels: { 'orcaops.job_id': '0b9f', [WORKSPACE_VOLUME_LABEL]: 'orcaops-job-0b9f-workspace' },
      User: '65534:65534',
      WorkingDir: '/workspace',
      Hostname: 'sandbox',
      HostConfig: {
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true'],
        Privileged: false,
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': `rw,nosuid,nodev,noexec,size=${64 * MiB},mode=1777` },
        Mounts: [
          { Type: 'volume', Source: 'orcaops-job-0b9f-workspace', Target: '/workspace', ReadOnly: false, VolumeOptions: { NoCopy: true } },
        ],
        Memory: 512 * MiB,
        MemorySwap: 512 * MiB,
        NanoCpus: 1_000_000_000,
        PidsLimit: 128,
        Ulimits: [
          { Name: 'nofile', Soft: 1024, Hard: 1024 },
          { Name: 'core', Soft: 0, Hard: 0 },
          { Name: 'fsize', Soft: 256 * MiB, Hard: 256 * MiB },
        ],
        Init: true,
        LogConfig: { Type: 'json-file', Config: { 'max-size': '2m', 'max-file': '1' } },
        IpcMode: 'private',
        ShmSize: 64 * MiB,
        RestartPolicy: { Name: 'no' },
        AutoRemove: false,
      },
    });
  });

  it('should never set the fields that open the sandbox (§1 #3, #5, #6, #13, #18, #19)', () => {
    const body = buildCreateOptions(spec({ network: 'egress' }));
    const host = body.HostConfig as unknown as Record<string, unknown>;
    for (const field of ['CapAdd', 'Binds', 'Devices', 'VolumesFrom', 'StorageOpt', 'PidMode', 'UTSMode', 'UsernsMode', 'OomKillDisable', 'Runtime', 'Links', 'PortBindings', 'DeviceRequests']) {
      expect(host).not.toHaveProperty(field);
    }
    expect(body.HostConfig.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(body.HostConfig.SecurityOpt.join()).not.toMatch(/seccomp|apparmor|label|systempaths/);
    expect(body.HostConfig.Mounts).toHaveLength(1);
  });

  it('should use the dedicated egress bridge for egress, never the default bridge or host', () => {
    expect(buildCreateOptions(spec({ network: 'egress' })).HostConfig.NetworkMode).toBe('orcaops-egress-filtered');
  });

  it('should refuse a network that is not none or egress (values read back from storage are untrusted)', () => {
    expect(refusal(() => buildCreateOptions(spec({ network: 'host' as never }))).code).toBe('invalid_argument');
    expect(refusal(() => buildCreateOptions(spec({ network: 'bridge' as never }))).code).toBe('invalid_argument');
  });

  it('should default the user to 65534:65534 and accept another numeric non-root uid:gid', () => {
    expect(buildCreateOptions(spec({ user: undefined })).User).toBe('65534:65534');
    expect(buildCreateOptions(spec({ user: '1000:1000' })).User).toBe('1000:1000');
  });

  it.each(['0:0', '0', 'root', '1000:0', '1000', 'nobody:nogroup', '1000:1000:1'])('should refuse the user %p', (user) => {
    expect(refusal(() => buildCreateOptions(spec({ user }))).code).toBe('invalid_argument');
  });

  it('should convert fractional CPUs to NanoCpus', () => {
    expect(buildCreateOptions(spec({ resources: { ...spec().resources, cpus: 0.5 } })).HostConfig.NanoCpus).toBe(500_000_000);
  });

  it.each([
    ['memoryBytes', 0],
    ['pidsLimit', 0],
    ['pidsLimit', -1],
    ['tmpBytes', 0],
    ['workspaceBytes', 0],
    ['nofile', 1.5],
    ['cpus', 0],
    ['cpus', Number.NaN],
    ['memoryBytes', Number.POSITIVE_INFINITY],
  ])('should refuse %s = %p, which the engine would read as "unlimited" or reject', (field, value) => {
    const resources = { ...spec().resources, [field]: value };
    expect(refusal(() => buildCreateOptions(spec({ resources }))).code).toBe('invalid_argument');
  });

  it('should make /workspace a sized tmpfs owned by the user when no workspace volume is given, and drop a forged volume label', () => {
    const body = buildCreateOptions(spec({ workspaceVolume: undefined, user: '1000:1001', labels: { [WORKSPACE_VOLUME_LABEL]: 'someone-elses-volume' } }));
    expect(body.HostConfig).not.toHaveProperty('Mounts');
    expect(body.HostConfig.Tmpfs).toEqual({
      '/tmp': `rw,nosuid,nodev,noexec,size=${64 * MiB},mode=1777`,
      '/workspace': `rw,nosuid,nodev,exec,size=${256 * MiB},uid=1000,gid=1001,mode=0700`,
    });
    expect(body.Labels).toEqual({});
  });

  it('should let the adapter own the workspace volume label', () => {
    const body = buildCreateOptions(spec({ labels: { [WORKSPACE_VOLUME_LABEL]: 'forged' } }));
    expect(body.Labels[WORKSPACE_VOLUME_LABEL]).toBe('orcaops-job-0b9f-workspace');
  });

  it('should keep the image CMD when the command is empty', () => {
    expect(buildCreateOptions(spec({ command: [] }))).not.toHaveProperty('Cmd');
  });

  it.each([
    [{ env: { 'A=B': 'x' } }],
    [{ env: { '1A': 'x' } }],
    [{ env: { A: 'x\0y' } }],
    [{ command: ['sh', 'a\0b'] }],
    [{ name: '../etc' }],
    [{ name: '' }],
    [{ image: 'busybox latest' }],
    [{ workingDir: 'relative' }],
    [{ workspaceVolume: 'bad/name' }],
  ] as Array<[Partial<ContainerSpec>]>)('should refuse malformed input %p', (overrides) => {
    expect(refusal(() => buildCreateOptions(spec(overrides))).code).toBe('invalid_argument');
  });
});

describe('buildCreateOptions: options from workflows and the service profile', () => {
  it('should add sized nosuid/nodev tmpfs mounts, data volumes, an entrypoint and a bounded /dev/shm', () => {
    const body = buildCreateOptions(
      spec({
        entrypoint: ['redis-server'],
        tmpfs: [{ path: '/run/pg', sizeBytes: 16 * MiB, mode: '0770' }, { path: '/cache', sizeBytes: MiB, exec: true }],
        volumes: [{ name: 'orcaops-x-vol-db-data', target: '/var/lib/db', readOnly: false }],
        shmBytes: 128 * MiB,
      }),
    );
    expect(body.Entrypoint).toEqual(['redis-server']);
    expect(body.HostConfig.Tmpfs).toMatchObject({
      '/run/pg': `rw,nosuid,nodev,noexec,size=${16 * MiB},mode=0770`,
      '/cache': `rw,nosuid,nodev,exec,size=${MiB},mode=1777`,
    });
    expect(body.HostConfig.Mounts).toEqual([
      { Type: 'volume', Source: 'orcaops-job-0b9f-workspace', Target: '/workspace', ReadOnly: false, VolumeOptions: { NoCopy: true } },
      { Type: 'volume', Source: 'orcaops-x-vol-db-data', Target: '/var/lib/db', ReadOnly: false, VolumeOptions: { NoCopy: true } },
    ]);
    expect(body.HostConfig.ShmSize).toBe(128 * MiB);
    expect(body.HostConfig.CapAdd).toBeUndefined();
  });

  it('should refuse mounts over reserved or already mounted paths, unsized tmpfs and a /dev/shm above the memory limit', () => {
    expect(refusal(() => buildCreateOptions(spec({ tmpfs: [{ path: '/proc/sys', sizeBytes: MiB }] }))).message).toMatch(/not an allowed mount point/);
    expect(refusal(() => buildCreateOptions(spec({ tmpfs: [{ path: '/a/../etc', sizeBytes: MiB }] }))).message).toMatch(/not an allowed mount point/);
    expect(refusal(() => buildCreateOptions(spec({ tmpfs: [{ path: '/tmp', sizeBytes: MiB }] }))).message).toMatch(/already mounted/);
    expect(refusal(() => buildCreateOptions(spec({ tmpfs: [{ path: '/x', sizeBytes: 0 }] }))).message).toMatch(/positive integer/);
    expect(refusal(() => buildCreateOptions(spec({ volumes: [{ name: 'v', target: '/workspace', readOnly: false }] }))).message).toMatch(/already mounted/);
    expect(refusal(() => buildCreateOptions(spec({ shmBytes: 1024 * MiB }))).message).toMatch(/memory limit/);
    expect(refusal(() => buildCreateOptions(spec({ entrypoint: [] }))).message).toMatch(/entrypoint must not be empty/);
  });

  it('should mount a workflow job container\'s volumes as named volumes (never binds) beside its workspace tmpfs, keeping the strict profile', () => {
    // A workflow job: no workspace volume (its /workspace is a HostConfig.Tmpfs), a --user, container.volumes.
    const body = buildCreateOptions(
      spec({
        workspaceVolume: undefined,
        user: '1000:1000',
        volumes: [
          { name: 'orcaops-1a2b3c4d-build-9f8e7d6c-a1-vol-shared', target: '/data', readOnly: false },
          { name: 'orcaops-1a2b3c4d-build-9f8e7d6c-a1-vol-seed', target: '/seed', readOnly: true },
          { name: 'orcaops-1a2b3c4d-build-9f8e7d6c-a1-anon-job-3-cache', target: '/cache', readOnly: false },
        ],
      }),
    );
    expect(body.HostConfig.Mounts).toEqual([
      { Type: 'volume', Source: 'orcaops-1a2b3c4d-build-9f8e7d6c-a1-vol-shared', Target: '/data', ReadOnly: false, VolumeOptions: { NoCopy: true } },
      { Type: 'volume', Source: 'orcaops-1a2b3c4d-build-9f8e7d6c-a1-vol-seed', Target: '/seed', ReadOnly: true, VolumeOptions: { NoCopy: true } },
      { Type: 'volume', Source: 'orcaops-1a2b3c4d-build-9f8e7d6c-a1-anon-job-3-cache', Target: '/cache', ReadOnly: false, VolumeOptions: { NoCopy: true } },
    ]);
    expect(body.HostConfig.Mounts!.every((m) => m.Type === 'volume' && !m.Source.startsWith('/') && !m.Source.startsWith('.'))).toBe(true);
    expect(body.HostConfig).not.toHaveProperty('Binds');
    expect(body.HostConfig).not.toHaveProperty('VolumesFrom');
    expect(body.HostConfig.Tmpfs['/workspace']).toBe(`rw,nosuid,nodev,exec,size=${256 * MiB},uid=1000,gid=1000,mode=0700`);
    expect(body.User).toBe('1000:1000');
    expect(body.HostConfig.ReadonlyRootfs).toBe(true);
    expect(body.HostConfig.CapDrop).toEqual(['ALL']);
    expect(body.HostConfig.CapAdd).toBeUndefined();
  });

  it('should refuse volumes that are host paths, inside the workspace, over /tmp, or at one path twice', () => {
    const volume = (name: string, target: string): Partial<ContainerSpec> => ({ workspaceVolume: undefined, volumes: [{ name, target, readOnly: false }] });
    expect(refusal(() => buildCreateOptions(spec(volume('/srv/data', '/data')))).message).toMatch(/not a valid engine name/);
    expect(refusal(() => buildCreateOptions(spec(volume('./data', '/data')))).message).toMatch(/not a valid engine name/);
    expect(refusal(() => buildCreateOptions(spec(volume('v', '/workspace')))).message).toMatch(/already mounted/);
    expect(refusal(() => buildCreateOptions(spec(volume('v', '/workspace/cache')))).message).toMatch(/inside the workspace/);
    expect(refusal(() => buildCreateOptions(spec(volume('v', '/tmp')))).message).toMatch(/already mounted/);
    expect(refusal(() => buildCreateOptions(spec(volume('v', '/dev/shm')))).message).toMatch(/not an allowed mount point/);
    expect(refusal(() => buildCreateOptions(spec(volume('v', 'relative')))).message).toMatch(/not an allowed mount point/);
    const twice = [{ name: 'a', target: '/data', readOnly: false }, { name: 'b', target: '/data', readOnly: false }];
    expect(refusal(() => buildCreateOptions(spec({ volumes: twice }))).message).toMatch(/already mounted/);
  });

  it('should keep the strict profile non-root whatever user is asked for', () => {
    expect(refusal(() => buildCreateOptions(spec({ user: '0:0' }))).message).toMatch(/non-root/);
    expect(refusal(() => buildCreateOptions(spec({ user: 'postgres' }))).message).toMatch(/non-root/);
  });

  it('should give a service container the image user, only the start-up capabilities, and no /workspace', () => {
    const body = buildCreateOptions(spec({ profile: 'service', workspaceVolume: undefined }));
    expect(body.User).toBe('');
    expect(body.WorkingDir).toBeUndefined();
    expect(body.HostConfig.CapDrop).toEqual(['ALL']);
    expect(body.HostConfig.CapAdd).toEqual(['CHOWN', 'SETUID', 'SETGID', 'FOWNER', 'DAC_OVERRIDE']);
    expect(body.HostConfig.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(body.HostConfig.ReadonlyRootfs).toBe(true);
    expect(body.HostConfig.Privileged).toBe(false);
    expect(Object.keys(body.HostConfig.Tmpfs)).toEqual(['/tmp']);
    expect(buildCreateOptions(spec({ profile: 'service', user: 'redis:redis' })).User).toBe('redis:redis');
    expect(refusal(() => buildCreateOptions(spec({ profile: 'service', user: 'a b' }))).message).toMatch(/valid user/);
    expect(refusal(() => buildCreateOptions(spec({ profile: 'root' as never }))).message).toMatch(/profile/);
  });
});

describe('buildDataVolumeOptions', () => {
  it('should make a sized tmpfs, sticky and world-writable (its user chowns it), nosuid, nodev, noexec', () => {
    expect(buildDataVolumeOptions('orcaops-x-vol-db-data', 64 * MiB, { a: 'b' })).toEqual({
      Name: 'orcaops-x-vol-db-data',
      Driver: 'local',
      DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: `size=${64 * MiB},mode=1777,nosuid,nodev,noexec` },
      Labels: { a: 'b' },
    });
    expect(() => buildDataVolumeOptions('v', 0, {})).toThrow(RuntimeError);
  });

  it('should give the root directory to a job container\'s non-root user when it mounts the volume', () => {
    expect(buildDataVolumeOptions('v', 512 * MiB, {}, '65534:65534').DriverOpts.o).toBe(`size=${512 * MiB},uid=65534,gid=65534,mode=1777,nosuid,nodev,noexec`);
    expect(buildDataVolumeOptions('v', MiB, {}, '1000:1001').DriverOpts.o).toContain('uid=1000,gid=1001,mode=1777');
    expect(() => buildDataVolumeOptions('v', MiB, {}, '0:0')).toThrow(/non-root/);
    expect(() => buildDataVolumeOptions('v', MiB, {}, 'app')).toThrow(/non-root/);
  });
});

describe('buildWorkspaceVolumeOptions', () => {
  it('should make a sized, nosuid, nodev tmpfs owned by the sandbox user with mode 0700', () => {
    expect(buildWorkspaceVolumeOptions('ws', 256 * MiB, { 'orcaops.job_id': '1' })).toEqual({
      Name: 'ws',
      Driver: 'local',
      DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: `size=${256 * MiB},uid=65534,gid=65534,mode=0700,nosuid,nodev` },
      Labels: { 'orcaops.job_id': '1' },
    });
  });

  it('should take another non-root owner', () => {
    expect(buildWorkspaceVolumeOptions('ws', MiB, {}, '1000:1001').DriverOpts.o).toContain('uid=1000,gid=1001');
  });

  it('should refuse a size of 0 (an unlimited tmpfs) and a root owner', () => {
    expect(refusal(() => buildWorkspaceVolumeOptions('ws', 0, {})).code).toBe('invalid_argument');
    expect(refusal(() => buildWorkspaceVolumeOptions('ws', MiB, {}, '0:0')).code).toBe('invalid_argument');
  });
});

describe('isSizedTmpfsVolume', () => {
  it('should accept only local tmpfs volumes with a positive size', () => {
    expect(isSizedTmpfsVolume({ Driver: 'local', Options: buildWorkspaceVolumeOptions('ws', MiB, {}).DriverOpts })).toBe(true);
    expect(isSizedTmpfsVolume({ Driver: 'local', Options: null })).toBe(false);
    expect(isSizedTmpfsVolume({ Driver: 'local', Options: { type: 'tmpfs', device: 'tmpfs', o: 'uid=1' } })).toBe(false);
    expect(isSizedTmpfsVolume({ Driver: 'local', Options: { type: 'tmpfs', device: 'tmpfs', o: 'size=0' } })).toBe(false);
    expect(isSizedTmpfsVolume({ Driver: 'other', Options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1' } })).toBe(false);
  });
});

describe('isCompressedArchive', () => {
  it.each([
    ['gzip', [0x1f, 0x8b, 8]],
    ['bzip2', [0x42, 0x5a, 0x68]],
    ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
    ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ])('should flag %s', (_name, bytes) => {
    expect(isCompressedArchive(Buffer.from([...bytes, 0, 0, 0, 0]))).toBe(true);
  });

  it('should pass a plain tar header', () => {
    expect(isCompressedArchive(Buffer.concat([Buffer.from('hello.txt'), Buffer.alloc(503)]))).toBe(false);
  });
});

describe('toLabelFilters', () => {
  it('should turn labels into engine filters and refuse an empty set, which would match every container', () => {
    expect(toLabelFilters({ a: '1', 'orcaops.kind': 'job' })).toEqual(['a=1', 'orcaops.kind=job']);
    expect(refusal(() => toLabelFilters({})).code).toBe('invalid_argument');
  });
});

describe('buildEgressNetworkOptions', () => {
  it('should make an internal bridge (no route out but the gateway) with inter-container communication off', () => {
    expect(buildEgressNetworkOptions()).toEqual({
      Name: 'orcaops-egress-filtered',
      Driver: 'bridge',
      CheckDuplicate: true,
      Internal: true,
      Options: { 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.bridge.name': 'orcaegress0' },
      Labels: { 'orcaops.managed': 'true' },
    });
  });
});
