import { PassThrough } from 'node:stream';
import { pack } from 'tar-stream';
import { ArtifactCollection, readArtifactArchive } from 'src/jobs/artifact-archive';

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

describe('ArtifactCollection', () => {
  const feed = (c: ArtifactCollection, stream: PassThrough): Promise<void> =>
    new Promise((resolve) => {
      stream.on('data', (chunk: Buffer) => c.onOutput('stdout', chunk));
      stream.on('end', resolve);
    });

  it('keeps files within the limits', async () => {
    const c = new ArtifactCollection(limits, new AbortController().signal);
    await feed(c, tarOf([{ name: 'a.txt', body: 'hello' }]));
    const { result } = await c.finish();
    expect(c.limitError).toBeUndefined();
    expect(result.files.map((f) => f.name)).toEqual(['a.txt']);
    expect(c.signal.aborted).toBe(false);
  });

  it('stops the exec and names the limit when a file is over it', async () => {
    const c = new ArtifactCollection(limits, new AbortController().signal);
    await feed(c, tarOf([{ name: 'big.bin', body: 'x'.repeat(4096) }, { name: 'a.txt', body: 'a' }]));
    const { result } = await c.finish();
    expect(c.signal.aborted).toBe(true);
    expect(c.limitError).toBe('artifact big.bin refused: larger than 1024 bytes (limits: 10 files, 1024 bytes per file, 2048 bytes in all)');
    expect(result.files).toEqual([]);
  });

  it('stops reading a stream larger than the caps allow in all, without parsing it', async () => {
    const c = new ArtifactCollection(limits, new AbortController().signal);
    const zeros = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 8; i++) c.onOutput('stdout', zeros);
    expect(c.signal.aborted).toBe(true);
    expect(c.limitError).toBe('the artifacts are larger than the 2048-byte limit');
    await c.finish();
  });

  it('follows the job abort and keeps stderr bounded', async () => {
    const job = new AbortController();
    const c = new ArtifactCollection(limits, job.signal);
    for (let i = 0; i < 100; i++) c.onOutput('stderr', Buffer.alloc(4096, 'e'));
    job.abort();
    expect(c.signal.aborted).toBe(true);
    const { messages } = await c.finish();
    expect(messages.length).toBe(64 * 1024);
  });
});
