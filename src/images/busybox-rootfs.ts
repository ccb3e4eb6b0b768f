import { pack } from 'tar-stream';

export const NOBODY = 65534;

/** Applet names are plain file names (`[` and `[[` included); anything else is refused, not linked. */
const APPLET_NAME = /^[A-Za-z0-9_.[\]-]+$/;

/** Parses `busybox --list`: one applet per line; dedupes, drops `busybox` itself, sorts. */
export function parseAppletList(output: string): string[] {
  const names = output
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => name !== '' && name !== 'busybox');
  const invalid = names.filter((name) => !APPLET_NAME.test(name) || name === '.' || name === '..');
  if (invalid.length > 0)
    throw new Error(`busybox --list printed unexpected applet names: ${invalid.slice(0, 5).join(', ')}`);
  if (!names.includes('sh')) throw new Error('busybox --list has no "sh" applet: not a usable busybox');
  return [...new Set(names)].sort();
}

/**
 * Debian builds busybox 1.35 without FEATURE_WGET_TIMEOUT, yet wget still declares `-T` as a number option
 * ("T:+") whose destination is then NULL, and getopt32 writes the number there unchecked: every `wget -T N`
 * dies with SIGSEGV (exit 139), whatever the URL. The patch makes `-T` a string option (the kind that
 * getopt32 skips when its destination is NULL, like wget's ignored `-t`); the spare byte becomes a third
 * colon after `n::`, which getopt32 and glibc getopt both skip, so option bits and arguments keep their
 * order. The ash in busybox runs applets before PATH, so a wrapper script in /bin could not do this.
 */
export const WGET_OPTIONS = Buffer.from('^cqSO:o:P:Y:U:T:+t:n::\0', 'latin1');
export const WGET_OPTIONS_PATCHED = Buffer.from('^cqSO:o:P:Y:U:T:t:n:::\0', 'latin1');

/** The busybox binary with wget's `-T` accepted and ignored; refuses a binary without exactly one match. */
export function patchWgetTimeoutOption(binary: Buffer): Buffer {
  const at = binary.indexOf(WGET_OPTIONS);
  if (at < 0 || binary.indexOf(WGET_OPTIONS, at + 1) >= 0) {
    throw new Error(
      "busybox wget's option string was not found exactly once: the busybox-static version changed; " +
        'check whether `wget -T 1 URL` still crashes and update patchWgetTimeoutOption',
    );
  }
  const patched = Buffer.from(binary);
  WGET_OPTIONS_PATCHED.copy(patched, at);
  return patched;
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';

interface RootfsEntry {
  name: string;
  type: 'directory' | 'file' | 'symlink';
  mode?: number;
  uid?: number;
  gid?: number;
  content?: Buffer;
  linkname?: string;
}

/** The whole file system: /bin/busybox and its applet links, users, /tmp (1777) and /workspace (nobody). */
export function busyboxRootfsEntries(busybox: Buffer, applets: string[]): RootfsEntry[] {
  return [
    { name: 'bin/', type: 'directory', mode: 0o755 },
    { name: 'bin/busybox', type: 'file', mode: 0o755, content: busybox },
    ...applets.map((applet): RootfsEntry => ({
      name: `bin/${applet}`,
      type: 'symlink',
      linkname: 'busybox',
    })),
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/passwd', type: 'file', mode: 0o644, content: Buffer.from(PASSWD) },
    { name: 'etc/group', type: 'file', mode: 0o644, content: Buffer.from(GROUP) },
    { name: 'root/', type: 'directory', mode: 0o700 },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'workspace/', type: 'directory', mode: 0o755, uid: NOBODY, gid: NOBODY },
  ];
}

/** Packs entries into an uncompressed tar (what `docker import` takes), owned by root unless stated. */
export async function packRootfs(entries: RootfsEntry[], mtime: Date): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (chunk) => chunks.push(chunk as Buffer));
  const finished = new Promise<void>((resolve, reject) => archive.on('end', resolve).on('error', reject));
  for (const entry of entries) {
    const header = {
      name: entry.name,
      type: entry.type,
      mode: entry.mode ?? 0o777,
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      mtime,
    };
    const full = entry.linkname ? { ...header, linkname: entry.linkname } : header;
    if (entry.content) archive.entry(full, entry.content);
    else archive.entry(full);
  }
  archive.finalize();
  await finished;
  return Buffer.concat(chunks);
}
