import { declaredTcpPorts, parseDockerDuration, serviceRunOptions, splitOptions } from 'src/workflows/runner/service-options';

describe('service options', () => {
  it('splits quoted docker-run options', () => {
    expect(splitOptions(`--health-cmd "redis-cli ping" --health-interval=10s --health-retries 5`)).toEqual([
      '--health-cmd',
      'redis-cli ping',
      '--health-interval=10s',
      '--health-retries',
      '5',
    ]);
  });

  it('parses durations with units', () => {
    expect(parseDockerDuration('10s')).toBe(10_000);
    expect(parseDockerDuration('1m30s')).toBe(90_000);
    expect(parseDockerDuration('500ms')).toBe(500);
    expect(parseDockerDuration('3')).toBe(3000);
    expect(parseDockerDuration('soon')).toBeUndefined();
  });

  it('builds a health check from --health-* options and reports other flags', () => {
    const result = serviceRunOptions({ options: '--health-cmd pg_isready --health-interval 2s --health-timeout 1s --health-retries 4 --cpus 2' });
    expect(result.healthcheck).toEqual({ test: ['CMD-SHELL', 'pg_isready'], intervalMs: 2000, timeoutMs: 1000, retries: 4, startPeriodMs: 0 });
    expect(result.ignored).toEqual(['--cpus']);
  });

  it('uses the native healthcheck key, and none/tcp give no container health check', () => {
    expect(serviceRunOptions({ healthcheck: { cmd: ['nc', '-z', 'localhost', '80'], intervalMs: 500 } }).healthcheck).toMatchObject({
      test: ['CMD', 'nc', '-z', 'localhost', '80'],
      intervalMs: 500,
    });
    expect(serviceRunOptions({ healthcheck: 'none' }).healthcheck).toBeUndefined();
  });

  it('lists declared tcp ports', () => {
    expect(declaredTcpPorts(['5432:5432', '6379', '53/udp', '8080:80/tcp'])).toEqual([5432, 6379, 80]);
  });
});
