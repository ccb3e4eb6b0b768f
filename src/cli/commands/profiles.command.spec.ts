import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from 'src/cli/main';
import { parseSandboxProfiles } from 'src/sandboxes/sandbox-profiles';

async function cli(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => out.push(chunk.toString()) > 0);
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => err.push(chunk.toString()) > 0);
  process.exitCode = undefined;
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'orcaops', ...args]);
    return { stdout: out.join(''), stderr: err.join(''), exitCode: Number(process.exitCode ?? 0) };
  } finally {
    process.exitCode = undefined;
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

const LEGACY = 'sandboxes:\n  - name: flaky\n    image: orcaops/busybox\n    command: ["sh", "-c", "exit 1"]\n    success_exit_codes: [0, 1]\n';

describe('orcaops profiles migrate FILE', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'orcaops-migrate-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the profiles: catalogue, which loads as the server loads it, and leaves the file alone', async () => {
    const file = join(dir, 'sandboxes.yml');
    writeFileSync(file, LEGACY);
    const result = await cli('profiles', 'migrate', file);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('timeout 60 s written out (the old default)');
    const warn = jest.fn();
    expect(parseSandboxProfiles(result.stdout, 'out.yml', warn)).toEqual([
      expect.objectContaining({ name: 'flaky', command: ['sh', '-c', 'exit 1'], success_exit_codes: [0, 1], timeout_seconds: 60 }),
    ]);
    expect(warn).not.toHaveBeenCalled();
    expect(readFileSync(file, 'utf8')).toBe(LEGACY);
  });

  it('--write replaces the file and keeps the original as FILE.bak; a second run has nothing to migrate', async () => {
    const file = join(dir, 'sandboxes.yml');
    writeFileSync(file, LEGACY);
    const result = await cli('--json', 'profiles', 'migrate', file, '--write');
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ written: true, profiles: ['flaky'] });
    expect(readFileSync(`${file}.bak`, 'utf8')).toBe(LEGACY);
    expect(readFileSync(file, 'utf8')).toMatch(/^profiles:\n {2}flaky:/m);
    const again = await cli('profiles', 'migrate', file);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/no top-level sandboxes: list: nothing to migrate/);
  });

  it('refuses a file it cannot convert, naming entry, key and line, and writes nothing', async () => {
    const file = join(dir, 'sandboxes.yml');
    const text = 'sandboxes:\n  - name: a\n    image: orcaops/busybox\n    volumes: {"/srv": {bind: /srv}}\n';
    writeFileSync(file, text);
    const result = await cli('profiles', 'migrate', file, '--write');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/sandboxes\[0\] "volumes" \(line 4\): host bind mounts are not supported/);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(existsSync(`${file}.bak`)).toBe(false);
  });
});
