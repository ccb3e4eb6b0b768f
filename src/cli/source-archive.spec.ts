import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHostileTar } from 'src/common/hostile-tar';
import { defaultSourceDir, dockerignoreMatcher, packSourceDir } from 'src/cli/source-archive';

describe('source-archive', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orcaops-source-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('should default to the repository root only for files in .github/workflows', () => {
    expect(defaultSourceDir('/repo/.github/workflows/ci.yml')).toBe('/repo');
    expect(defaultSourceDir('/repo/workflows/ci.yml')).toBeUndefined();
    expect(defaultSourceDir('/repo/ci.yml')).toBeUndefined();
  });

  it('should pack files and directories, leaving out .git, node_modules and symlinks', async () => {
    mkdirSync(join(dir, 'src'));
    mkdirSync(join(dir, '.git'));
    mkdirSync(join(dir, 'node_modules', 'x'), { recursive: true });
    writeFileSync(join(dir, 'src', 'main.py'), 'print(1)\n');
    writeFileSync(join(dir, '.git', 'HEAD'), 'ref');
    writeFileSync(join(dir, 'node_modules', 'x', 'i.js'), '');
    symlinkSync('/etc/passwd', join(dir, 'link'));
    const packed = await packSourceDir(dir);
    expect(packed).toMatchObject({ files: 1, bytes: 9, skipped: ['link'] });
    const tree = await readHostileTar(packed.tar, { maxEntries: 10, maxFileBytes: 100, maxTotalBytes: 100 }, { directories: 'keep', absoluteNames: 'refuse' });
    expect(tree.rejected).toEqual([]);
    expect(tree.entries.map((e) => `${e.type}:${e.name}`)).toEqual(['directory:src', 'file:src/main.py']);
  });

  it('should refuse a directory over the size cap', async () => {
    writeFileSync(join(dir, 'big.bin'), Buffer.alloc(2048));
    await expect(packSourceDir(dir, { maxBytes: 1024 })).rejects.toThrow(/larger than/);
  });
});

describe('dockerignoreMatcher', () => {
  it('matches names, globs and directories, skips negations and never the Dockerfile', () => {
    const ignored = dockerignoreMatcher('# comment\n*.log\nbuild/\n**/tmp\n!keep.log\nDockerfile\n', 'Dockerfile');
    expect(['a.log', 'build', 'build/x/y', 'src/tmp', 'tmp/z'].filter(ignored)).toEqual(['a.log', 'build', 'build/x/y', 'src/tmp', 'tmp/z']);
    expect(['src/a.log', 'Dockerfile', 'builder', 'src/main.py'].filter(ignored)).toEqual([]);
  });
});
