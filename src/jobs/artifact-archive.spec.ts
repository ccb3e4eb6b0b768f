import { PassThrough } from 'node:stream';
import { pack } from 'tar-stream';
import { readArtifactArchive } from 'src/jobs/artifact-archive';

const limits = { maxFiles: 10, maxFileBytes: 1024, maxTotalBytes: 2048 };

function tarOf(entries: Array<{ name: string; type?: 'file' | 'symlink' | 'link' | 'directory' | 'character-device'; body?: string; linkname?: string }>): PassThrough {
  const p = pack();
  for (const e of entries) {
    if (e.type && e.type !== 'file') p.entry({ name: e.name, type: e.type, linkname: e.linkname });
    else p.entry({ name: e.name }, e.body ?? '');
  }
  p.finalize();
  const out = new PassThrough();
  p.pipe(out);
  return out;
}

describe('readArtifactArchive', () => {
  it('should keep regular files with clean names', async () => {
    const result = await readArtifactArchive(tarOf([{ name: 'out/a.txt', body: 'hello' }]), limits);
    expect(result.files).toEqual([{ name: 'out/a.txt', data: Buffer.from('hello') }]);
    expect(result.rejected).toEqual([]);
  });

  it('should refuse symlinks, hard links, devices and escaping paths', async () => {
    const result = await readArtifactArchive(
      tarOf([
        { name: 'link', type: 'symlink', linkname: '/etc/passwd' },
        { name: 'hard', type: 'link', linkname: 'out/a.txt' },
        { name: 'dev', type: 'character-device' },
        { name: '../escape.txt', body: 'x' },
        { name: 'ok.txt', body: 'fine' },
      ]),
      limits,
    );
    expect(result.files.map((f) => f.name)).toEqual(['ok.txt']);
    expect(result.rejected.map((r) => r.name)).toEqual(['link', 'hard', 'dev', '../escape.txt']);
  });

  it('should refuse files over the size caps', async () => {
    const result = await readArtifactArchive(tarOf([{ name: 'big', body: 'x'.repeat(2000) }, { name: 'small', body: 'y' }]), limits);
    expect(result.files.map((f) => f.name)).toEqual(['small']);
    expect(result.rejected[0]).toMatchObject({ name: 'big' });
  });
});
