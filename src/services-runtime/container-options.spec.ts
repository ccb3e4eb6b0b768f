import { parseDockerSize, parsePortSpec, parseRunOptions, parseVolumeSpec, splitOptions } from 'src/services-runtime/container-options';
import { formatDiagnostics, loadWorkflow } from 'src/workflows/engine/loader';

const MiB = 1024 * 1024;

describe('container and service options (docker-run flags against the allow-list)', () => {
  it('maps every allowed flag to a typed field, in both --flag value and --flag=value forms', () => {
    const { options, errors } = parseRunOptions(
      `--user 1000:1000 --cpus=1.5 -m 512m --shm-size 128m --pids-limit 64 --ulimit nofile=2048:4096 --ulimit core=0
       --tmpfs /run/pg:size=16m,mode=0770,exec --add-host db.local:10.0.0.7 --entrypoint "redis-server" --init`,
      'container',
    );
    expect(errors).toEqual([]);
    expect(options).toEqual({
      user: '1000:1000',
      cpus: 1.5,
      memoryBytes: 512 * MiB,
      shmBytes: 128 * MiB,
      pidsLimit: 64,
      ulimits: [
        { name: 'nofile', soft: 2048, hard: 4096 },
        { name: 'core', soft: 0, hard: 0 },
      ],
      tmpfs: [{ path: '/run/pg', sizeBytes: 16 * MiB, mode: '0770', exec: true }],
      addHosts: { 'db.local': '10.0.0.7' },
      entrypoint: 'redis-server',
      init: true,
      health: {},
    });
  });

  it('accepts --health-* for services only', () => {
    const health = '--health-cmd "pg_isready -U postgres" --health-interval 10s --health-timeout 5s --health-retries 5 --health-start-period 1s';
    expect(parseRunOptions(health, 'service')).toEqual({
      options: expect.objectContaining({ health: { cmd: 'pg_isready -U postgres', interval: '10s', timeout: '5s', retries: '5', 'start-period': '1s' } }),
      errors: [],
    });
    expect(parseRunOptions('--health-cmd true', 'container').errors).toEqual([expect.stringMatching(/^Unknown option '--health-cmd' in container options \(allowed: --user, /)]);
  });

  it('names an unknown flag, refuses --privileged with a reason, and reports every problem at once', () => {
    const { errors } = parseRunOptions('--network host --privileged --cap-add SYS_ADMIN -v /:/host stray', 'service');
    expect(errors).toEqual([
      expect.stringMatching(/^Unknown option '--network' in service options \(allowed: --user, --cpus, .*--health-cmd/),
      "Option '--privileged' is not allowed: OrcaOps never runs a privileged container (docs/security.md)",
      expect.stringMatching(/^Unknown option '--cap-add'/),
      expect.stringMatching(/^Unknown option '-v'/),
      "Unexpected 'stray' in options: expected a flag such as --user",
    ]);
  });

  it('treats an empty or blank text (an expression that evaluated to empty) as no options', () => {
    for (const text of ['', '   ', '\n']) expect(parseRunOptions(text, 'container')).toEqual({ options: { ulimits: [], tmpfs: [], addHosts: {}, health: {} }, errors: [] });
  });

  it('checks values: sizes, counts, ulimit names, tmpfs paths and options, host entries, missing values', () => {
    const { errors } = parseRunOptions(
      '--memory lots --pids-limit -1 --ulimit stack=1 --ulimit nofile=9:1 --tmpfs /proc/x --tmpfs /data:uid=0 --add-host h:host-gateway --cpus 0 --user',
      'service',
    );
    expect(errors).toEqual([
      "Option '--memory lots': expected a size such as 512m or 1g",
      "Option '--pids-limit -1': expected a positive integer (an unlimited pids limit is not allowed)",
      "Option '--ulimit stack=1': ulimit 'stack' is not allowed (only nofile, nproc and core)",
      "Option '--ulimit nofile=9:1': the soft limit is above the hard limit",
      "Option '--tmpfs /proc/x': '/proc/x' cannot be mounted over (/proc is reserved)",
      "Option '--tmpfs /data:uid=0': tmpfs option 'uid=0' is not allowed (only size, mode, exec/noexec)",
      "Option '--add-host h:host-gateway': expected name:IPv4 (host-gateway and IPv6 are not allowed)",
      "Option '--cpus 0': expected a positive number of CPUs",
      "Option '--user' needs a value",
    ]);
  });

  it('splits quoted words and parses docker sizes', () => {
    expect(splitOptions(`--health-cmd "redis-cli ping" --x='a b'`)).toEqual(['--health-cmd', 'redis-cli ping', '--x=a b']);
    expect([parseDockerSize('64m'), parseDockerSize('1g'), parseDockerSize('2048'), parseDockerSize('1.5k'), parseDockerSize('0'), parseDockerSize('x')]).toEqual([
      64 * MiB,
      1024 * MiB,
      2048,
      1536,
      undefined,
      undefined,
    ]);
  });

  it('parses ports: host:container, ip:host:container, container, with protocols', () => {
    expect(parsePortSpec('5432:5432')).toEqual({ hostPort: 5432, containerPort: 5432, protocol: 'tcp' });
    expect(parsePortSpec('6379/tcp')).toEqual({ containerPort: 6379, protocol: 'tcp' });
    expect(parsePortSpec('127.0.0.1:8080:80/udp')).toEqual({ hostPort: 8080, containerPort: 80, protocol: 'udp' });
    expect(parsePortSpec('70000')).toEqual({ error: expect.stringContaining("Port '70000'") });
    expect(parsePortSpec('80/sctp')).toEqual({ error: expect.stringContaining("Port '80/sctp'") });
  });

  it('parses volumes: named and anonymous ones; host binds are refused', () => {
    expect(parseVolumeSpec('data:/var/lib/x')).toEqual({ name: 'data', anonymous: false, target: '/var/lib/x', readOnly: false });
    expect(parseVolumeSpec('cfg:/etc-conf:ro')).toEqual({ name: 'cfg', anonymous: false, target: '/etc-conf', readOnly: true });
    expect(parseVolumeSpec('cfg:/etc-conf:rw')).toEqual({ name: 'cfg', anonymous: false, target: '/etc-conf', readOnly: false });
    expect(parseVolumeSpec('/var/cache/')).toEqual({ name: 'anon-var-cache', anonymous: true, target: '/var/cache', readOnly: false });
    expect(parseVolumeSpec('/srv/data:/data')).toEqual({ error: expect.stringMatching(/host bind mount, which OrcaOps refuses; use a named volume .*data:\/data/) });
    expect(parseVolumeSpec('./dir:/data')).toEqual({ error: expect.stringMatching(/host bind mount/) });
    expect(parseVolumeSpec('~/dir:/data')).toEqual({ error: expect.stringMatching(/host bind mount/) });
    expect(parseVolumeSpec('data:/proc/x')).toEqual({ error: expect.stringMatching(/\/proc is reserved/) });
    expect(parseVolumeSpec('data:/data:z')).toEqual({ error: expect.stringMatching(/must be name:\/path\[:ro\] or \/path/) });
  });

  it.each([
    ['data:relative', /not an absolute path/],
    ['data:/', /\/ is reserved/],
    ['data:/sys/fs', /\/sys is reserved/],
    ['/dev/shm', /\/dev is reserved/],
    ['data:/a/../etc', /contains '\.\.'/],
    ['data:/tmp', /\/tmp is already mounted/],
    ['data:/my dir', /may only contain/],
  ])('refuses volume %s in every container', (entry, message) => {
    expect(parseVolumeSpec(entry, 'service')).toEqual({ error: expect.stringMatching(message) });
    expect(parseVolumeSpec(entry, 'container')).toEqual({ error: expect.stringMatching(message) });
  });

  it('refuses job container volumes over its workspace; services have no workspace', () => {
    expect(parseVolumeSpec('data:/workspace', 'container')).toEqual({ error: expect.stringMatching(/workspace \(\/workspace\) is already mounted/) });
    expect(parseVolumeSpec('/workspace/cache', 'container')).toEqual({ error: expect.stringMatching(/workspace/) });
    expect(parseVolumeSpec('data:/workspace-data', 'container')).toMatchObject({ target: '/workspace-data' });
    expect(parseVolumeSpec('data:/workspace', 'service')).toMatchObject({ target: '/workspace' });
  });
});

describe('options, ports and volumes checked when the workflow loads, at file:line:column', () => {
  const workflow = [
    'jobs:', //                                                       1
    '  build:', //                                                    2
    '    container:', //                                              3
    '      image: orcaops/busybox', //                                4
    '      options: --user 1000 --network host', //                   5
    '    services:', //                                               6
    '      db:', //                                                   7
    '        image: orcaops/busybox', //                              8
    '        options: --privileged', //                               9
    '        ports: ["5432", "nope:1"]', //                           10
    '        volumes:', //                                            11
    '          - data:/var/lib/db', //                                12
    '          - /srv:/var/lib/other', //                             13
    '        credentials: {username: u, password: p}', //             14
    '      cache:', //                                                15
    '        image: orcaops/busybox', //                              16
    "        options: ${{ matrix.x && '--bogus' || '' }}", //         17
    '    steps:', //                                                  18
    '      - run: id -u', //                                          19
  ].join('\n');
  const containerVolumes = [
    'jobs:', //                                                       1
    '  build:', //                                                    2
    '    container:', //                                              3
    '      image: orcaops/busybox', //                                4
    '      volumes:', //                                              5
    '        - shared:/data', //                                      6
    '        - /srv/data:/data2', //                                  7
    '        - ./src:/src', //                                        8
    '        - cache:/workspace', //                                  9
    '        - /proc/x', //                                           10
    '        - ${{ matrix.v }}:/later', //                            11
    '    steps:', //                                                  12
    '      - run: ls /data', //                                       13
  ].join('\n');

  it('refuses host bind mounts and workspace or reserved targets in container.volumes at their positions; expressions wait for run time', () => {
    const result = loadWorkflow(containerVolumes, { file: 'cv.yml' });
    expect(result.workflow).toBeUndefined();
    expect(formatDiagnostics(result.diagnostics.filter((d) => d.severity === 'error'), 'cv.yml').split('\n')).toEqual([
      expect.stringMatching(/^cv\.yml:7:11: error: Volume '\/srv\/data:\/data2' is a host bind mount, which OrcaOps refuses/),
      expect.stringMatching(/^cv\.yml:8:11: error: Volume '\.\/src:\/src' is a host bind mount/),
      expect.stringMatching(/^cv\.yml:9:11: error: Volume 'cache:\/workspace': the job's workspace \(\/workspace\) is already mounted/),
      expect.stringMatching(/^cv\.yml:10:11: error: Volume '\/proc\/x': '\/proc\/x' cannot be mounted over/),
    ]);
    const ok = loadWorkflow(containerVolumes.replace(/ {8}- (\/srv|\.\/src|cache|\/proc).*\n/g, ''), { file: 'cv.yml' });
    expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(ok.workflow!.jobs[0]!.container!.volumes).toEqual(['shared:/data', '${{ matrix.v }}:/later']);
  });

  it('reports each problem at its position; options from an expression wait for run time', () => {
    const result = loadWorkflow(workflow, { file: 'wf.yml' });
    expect(result.workflow).toBeUndefined();
    expect(formatDiagnostics(result.diagnostics.filter((d) => d.severity === 'error'), 'wf.yml').split('\n')).toEqual([
      expect.stringMatching(/^wf\.yml:5:16: error: Unknown option '--network' in container options/),
      "wf.yml:9:18: error: Option '--privileged' is not allowed: OrcaOps never runs a privileged container (docs/security.md)",
      expect.stringMatching(/^wf\.yml:10:25: error: Port 'nope:1' must be/),
      expect.stringMatching(/^wf\.yml:13:13: error: Volume '\/srv:\/var\/lib\/other' is a host bind mount/),
    ]);
  });

  it('keeps credentials as a flag only (never the password) and warns that --user root is not applied', () => {
    const ok = workflow.replace(' --network host', '').replace('--privileged', '--user 999').replace(', "nope:1"', '').replace('          - /srv:/var/lib/other\n', '');
    const result = loadWorkflow(ok.replace('--user 1000', '--user root'), { file: 'wf.yml' });
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(result.diagnostics).toContainEqual(expect.objectContaining({ severity: 'warning', code: 'container-user', line: 5 }));
    const db = result.workflow!.jobs[0]!.services[0]!;
    expect(db).toMatchObject({ id: 'db', hasCredentials: true, volumes: ['data:/var/lib/db'], ports: ['5432'] });
    expect(JSON.stringify(result.workflow)).not.toContain('password');
  });
});
