import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import type { Header } from 'tar-stream';
import { busyboxRootfsEntries, NOBODY, packRootfs, parseAppletList } from 'src/images/busybox-rootfs';

async function listTar(tar: Buffer): Promise<Array<Header & { content: string }>> {
  const entries: Array<Header & { content: string }> = [];
  const parser = extract();
  parser.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk) => chunks.push(chunk as Buffer));
    stream.on('end', () => {
      entries.push({ ...header, content: Buffer.concat(chunks).toString() });
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) =>
    parser.on('finish', () => resolve()).on('error', reject),
  );
  Readable.from([tar]).pipe(parser);
  await done;
  return entries;
}

describe('parseAppletList', () => {
  it('trims, dedupes, sorts and drops busybox itself', () => {
    expect(parseAppletList('sh\n[\n[[\nls\nbusybox\nls\n\n')).toEqual(['[', '[[', 'ls', 'sh']);
  });

  it('refuses names that are not plain file names', () => {
    expect(() => parseAppletList('sh\n../etc/passwd\n')).toThrow(/unexpected applet names/);
    expect(() => parseAppletList('sh\n..\n')).toThrow(/unexpected applet names/);
  });

  it('refuses a list without sh', () => {
    expect(() => parseAppletList('ls\ncat\n')).toThrow(/no "sh" applet/);
  });
});

describe('packRootfs(busyboxRootfsEntries)', () => {
  it('builds an uncompressed tar with the binary, applet links, users, /tmp and /workspace', async () => {
    const tar = await packRootfs(busyboxRootfsEntries(Buffer.from('ELF'), ['sh', 'ls']), new Date(0));
    const entries = await listTar(tar);
    const byName = new Map(entries.map((e) => [e.name.replace(/\/$/, ''), e]));

    expect(byName.get('bin/busybox')).toMatchObject({ type: 'file', mode: 0o755, uid: 0, content: 'ELF' });
    expect(byName.get('bin/sh')).toMatchObject({ type: 'symlink', linkname: 'busybox' });
    expect(byName.get('bin/ls')).toMatchObject({ type: 'symlink', linkname: 'busybox' });
    expect(byName.get('tmp')).toMatchObject({ type: 'directory', mode: 0o1777 });
    expect(byName.get('workspace')).toMatchObject({ type: 'directory', uid: NOBODY, gid: NOBODY });
    expect(byName.get('etc/passwd')?.content).toContain('nobody:x:65534:65534:');
    expect(byName.get('etc/group')?.content).toContain('nogroup:x:65534:');
  });
});
