import { pack } from 'tar-stream';
import { cleanEntryName, MAX_LISTED_REJECTIONS, readHostileTar } from 'src/common/hostile-tar';

type Entry = { name: string; type?: 'file' | 'symlink' | 'link' | 'directory' | 'fifo'; body?: string; linkname?: string };

function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) {
    if (e.type && e.type !== 'file') p.entry({ name: e.name, type: e.type, linkname: e.linkname, mode: 0o4755 });
    else p.entry({ name: e.name, mode: 0o4755 }, e.body ?? '');
  }
  p.finalize();
  const parts: Buffer[] = [];
  return new Promise((resolve, reject) => {
    p.on('data', (c: unknown) => parts.push(c as Buffer));
    p.on('end', () => resolve(Buffer.concat(parts)));
    p.on('error', reject);
  });
}

const limits = { maxEntries: 3, maxFileBytes: 8, maxTotalBytes: 12 };

describe('cleanEntryName', () => {
  it.each([
    ['out/a.txt', 'out/a.txt'],
    ['./out/a.txt', 'out/a.txt'],
    ['/tmp/x', 'tmp/x'],
    ['dir/', 'dir'],
    ['../etc/passwd', undefined],
    ['a/../../b', undefined],
    ['', undefined],
    ['a\0b', undefined],
  ])('%j → %j', (raw, expected) => {
    expect(cleanEntryName(raw)).toBe(expected);
  });
});

describe('readHostileTar', () => {
  const hostile: Entry[] = [
    { name: 'link', type: 'symlink', linkname: '/etc/passwd' },
    { name: 'hard', type: 'link', linkname: 'a.txt' },
    { name: 'pipe', type: 'fifo' },
    { name: '../escape', body: 'x' },
  ];

  it('keeps directories and refuses absolute names for trees; strips them and refuses directories for artifacts', async () => {
    const tar = await tarOf([{ name: 'dir', type: 'directory' }, { name: '/abs.txt', body: 'a' }, { name: 'dir/f', body: 'f' }, ...hostile]);
    const tree = await readHostileTar(tar, limits, { directories: 'keep', absoluteNames: 'refuse' });
    expect(tree.entries.map((e) => [e.name, e.type, e.mode])).toEqual([
      ['dir', 'directory', 0o755],
      ['dir/f', 'file', 0o755],
    ]);
    expect(tree.rejected.map((r) => r.reason)).toEqual([
      'path outside the target',
      'not a regular file (symlink)',
      'not a regular file (link)',
      'not a regular file (fifo)',
      'path outside the target',
    ]);
    const artifacts = await readHostileTar(tar, limits, { directories: 'refuse', absoluteNames: 'strip' });
    expect(artifacts.entries.map((e) => [e.name, e.data?.toString()])).toEqual([
      ['abs.txt', 'a'],
      ['dir/f', 'f'],
    ]);
    expect(artifacts.rejected[0]).toEqual({ name: 'dir', reason: 'directory' });
  });

  it('enforces the entry, file and total caps', async () => {
    const tar = await tarOf([
      { name: 'big', body: '123456789' },
      { name: 'a', body: '12345678' },
      { name: 'b', body: '12345' },
      { name: 'c', body: '1' },
      { name: 'd', body: '1' },
    ]);
    const result = await readHostileTar(tar, limits, { directories: 'keep', absoluteNames: 'refuse' });
    expect(result.entries.map((e) => e.name)).toEqual(['a', 'c', 'd']);
    expect(result.rejected).toEqual([
      { name: 'big', reason: 'larger than 8 bytes' },
      { name: 'b', reason: 'total over 12 bytes' },
    ]);
  });
});

describe('readHostileTar bounds its lists', () => {
  it('lists the first MAX_LISTED_REJECTIONS refusals and counts the rest', async () => {
    const tar = await tarOf(Array.from({ length: 5000 }, (_, i) => ({ name: `l${i}`, type: 'symlink' as const, linkname: '/x' })));
    const result = await readHostileTar(tar, { maxEntries: 10, maxFileBytes: 8, maxTotalBytes: 8 }, { directories: 'keep', absoluteNames: 'refuse' });
    expect(result.rejected).toHaveLength(MAX_LISTED_REJECTIONS);
    expect(result.rejected[0]).toEqual({ name: 'l0', reason: 'not a regular file (symlink)' });
    expect(result.rejectedCount).toBe(5000);
  });

  it('parses a backlog a slice of entries per event-loop turn, so a tar of bad entries never holds the loop', async () => {
    // Without the slicing, tar-stream parsed a whole buffered backlog in microtasks: 100 000 symlinks held the loop ~0.7 s.
    const tar = await tarOf(Array.from({ length: 20_000 }, (_, i) => ({ name: `l${i}`, type: 'symlink' as const, linkname: '/x' })));
    let turns = 0;
    let parsing = true;
    const tick = (): void => {
      if (!parsing) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const result = await readHostileTar(tar, { maxEntries: 10, maxFileBytes: 8, maxTotalBytes: 8 }, { directories: 'refuse', absoluteNames: 'strip' });
    parsing = false;
    expect(result.rejectedCount).toBe(20_000);
    expect(turns).toBeGreaterThan(20_000 / 256);
  });

  it('calls onLimit once, for the first entry over a cap', async () => {
    const hits: Array<{ name: string; reason: string }> = [];
    const tar = await tarOf([{ name: 'a', body: '123456789' }, { name: 'b', body: '123456789' }]);
    await readHostileTar(tar, limits, { directories: 'refuse', absoluteNames: 'strip', onLimit: (r) => hits.push(r) });
    expect(hits).toEqual([{ name: 'a', reason: 'larger than 8 bytes' }]);
  });
});

describe('readHostileTar on a cut stream', () => {
  it('rejects (no uncaught error) when the stream ends in the middle of an entry', async () => {
    const whole = await tarOf([{ name: 'a', body: 'x'.repeat(5000) }]);
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): number => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      await expect(readHostileTar(whole.subarray(0, 2048), limits, { directories: 'refuse', absoluteNames: 'strip' })).rejects.toThrow(/Unexpected end of data/);
      await new Promise((resolve) => setImmediate(resolve));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
