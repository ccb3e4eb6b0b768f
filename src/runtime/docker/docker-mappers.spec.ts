import { runtimeVersionOf, toContainerStats } from 'src/runtime/docker/docker-mappers';

describe('toContainerStats: block I/O', () => {
  it('should sum reads and writes over devices, cgroup v1 (Read/Write, plus Sync/Async/Total ignored)', () => {
    const stats = toContainerStats({
      blkio_stats: {
        io_service_bytes_recursive: [
          { op: 'Read', value: 4096 },
          { op: 'Write', value: 8192 },
          { op: 'Sync', value: 12288 },
          { op: 'Total', value: 12288 },
          { op: 'Read', value: 100 },
        ],
      },
    });
    expect(stats).toMatchObject({ blockReadBytes: 4196, blockWriteBytes: 8192 });
  });

  it('should read cgroup v2 (read/write) and report 0 when the engine sends none', () => {
    expect(toContainerStats({ blkio_stats: { io_service_bytes_recursive: [{ op: 'read', value: 1 }, { op: 'write', value: 2 }] } })).toMatchObject({ blockReadBytes: 1, blockWriteBytes: 2 });
    expect(toContainerStats({ blkio_stats: { io_service_bytes_recursive: null } })).toMatchObject({ blockReadBytes: 0, blockWriteBytes: 0 });
    expect(toContainerStats({})).toMatchObject({ blockReadBytes: 0, blockWriteBytes: 0 });
  });
});

describe('runtimeVersionOf', () => {
  it('should name the default runtime and its version from docker version components', () => {
    const components = [{ Name: 'Engine', Version: '20.10.24' }, { Name: 'runc', Version: '1.1.5' }];
    expect(runtimeVersionOf(components, 'runc')).toBe('runc 1.1.5');
    expect(runtimeVersionOf(components, 'io.containerd.runc.v2')).toBe('runc 1.1.5');
    expect(runtimeVersionOf(components, 'runsc')).toBeUndefined();
    expect(runtimeVersionOf(undefined, 'runc')).toBeUndefined();
  });
});
