import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { POSTGRES_ENTRYPOINT, POSTGRES_IMAGE } from 'src/images/recipes/postgres.recipe';
import { REDIS_ENTRYPOINT, REDIS_IMAGE } from 'src/images/recipes/redis.recipe';

/** Runs an entrypoint script with /bin/sh and stub programs on PATH that print their argv and cwd. */
describe('standard image entrypoints', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'orcaops-entrypoint-'));
    for (const name of ['redis-server', 'redis-cli', 'psql']) {
      await writeFile(join(dir, name), `#!/bin/sh\necho "${name} $* @ $(pwd)"\n`);
      await chmod(join(dir, name), 0o755);
    }
    await writeFile(join(dir, 'redis.sh'), REDIS_ENTRYPOINT);
    await writeFile(join(dir, 'postgres.sh'), POSTGRES_ENTRYPOINT);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const run = (script: string, args: string[]): string =>
    execFileSync('/bin/sh', [join(dir, script), ...args], { env: { PATH: `${dir}:/usr/bin:/bin` }, cwd: '/' }).toString().trim();

  it('redis: flags and a .conf file go to redis-server, protected mode off only without a config file', () => {
    expect(run('redis.sh', ['redis-server'])).toBe('redis-server --protected-mode no @ /tmp');
    expect(run('redis.sh', ['--maxmemory', '16mb'])).toBe('redis-server --maxmemory 16mb --protected-mode no @ /tmp');
    expect(run('redis.sh', ['--protected-mode', 'yes'])).toBe('redis-server --protected-mode yes @ /tmp');
    expect(run('redis.sh', ['/etc/redis/custom.conf'])).toBe('redis-server /etc/redis/custom.conf @ /tmp');
  });

  it('redis and postgres: any other command runs as given', () => {
    expect(run('redis.sh', ['redis-cli', '-h', 'cache', 'ping'])).toBe('redis-cli -h cache ping @ /');
    expect(run('postgres.sh', ['psql', '-h', 'db'])).toBe('psql -h db @ /');
  });

  it('both parse as POSIX sh', () => {
    for (const script of ['redis.sh', 'postgres.sh']) expect(() => execFileSync('/bin/sh', ['-n', join(dir, script)])).not.toThrow();
  });

  it('server images run as a non-root user and start through their entrypoint', () => {
    for (const image of [POSTGRES_IMAGE, REDIS_IMAGE]) {
      expect(image.changes).toContain('USER 65534:65534');
      expect(image.changes).toContain('ENTRYPOINT ["docker-entrypoint.sh"]');
    }
  });
});
