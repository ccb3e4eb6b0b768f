import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import type { Header } from 'tar-stream';
import {
  busyboxRootfsEntries,
  NOBODY,
  packRootfs,
  parseAppletList,
  patchWgetTimeoutOption,
  WGET_OPTIONS,
  WGET_OPTIONS_PATCHED,
} from 'src/images/busybox-rootfs';

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

describe('patchWgetTimeoutOption', () => {
  const around = (middle: Buffer): Buffer => Buffer.concat([Buffer.from('\0x%s\0'), middle, Buffer.from('-1:\xfe\0')]);

  it("turns wget's -T into a skipped string option without moving any other byte", () => {
    const binary = around(WGET_OPTIONS);
    const patched = patchWgetTimeoutOption(binary);
    expect(patched).toEqual(around(WGET_OPTIONS_PATCHED));
    expect(patched.length).toBe(binary.length);
    expect(patched.toString('latin1')).toContain('U:T:t:n:::\0-1:');
    expect(binary).toEqual(around(WGET_OPTIONS)); // the input is left alone
  });

  it('keeps the option count: the same letters take arguments, in the same order', () => {
    const letters = (s: Buffer): string => s.toString('latin1').replace(/[\^:+\0]/g, '');
    expect(letters(WGET_OPTIONS_PATCHED)).toBe(letters(WGET_OPTIONS));
    expect(WGET_OPTIONS_PATCHED.length).toBe(WGET_OPTIONS.length);
  });

  it('refuses a binary where the option string is missing or repeated', () => {
    expect(() => patchWgetTimeoutOption(Buffer.from('no wget here'))).toThrow(/not found exactly once/);
    expect(() => patchWgetTimeoutOption(Buffer.concat([around(WGET_OPTIONS), around(WGET_OPTIONS)]))).toThrow(
      /not found exactly once/,
    );
  });
});
