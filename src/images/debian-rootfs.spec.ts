import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot } from 'src/images/host-commands';
import { debootstrapPhases, slimRootfs, tidyRootfs } from 'src/images/debian-rootfs';

describe('debootstrapPhases', () => {
  it('turns the first line of each debootstrap verb into a step', () => {
    const steps: string[] = [];
    const onLine = debootstrapPhases((name) => steps.push(name));
    [
      'I: Retrieving InRelease',
      'I: Retrieving adduser 3.134',
      'I: Validating adduser 3.134',
      'W: warning',
      'progress',
      'I: Base system installed successfully.',
    ].forEach(onLine);
    expect(steps).toEqual([
      'debootstrap: Retrieving InRelease',
      'debootstrap: Validating adduser 3.134',
      'debootstrap: Base system installed successfully.',
    ]);
  });
});

// chown to nobody needs root, as debootstrap itself does.
(isRoot() ? describe : describe.skip)('tidyRootfs', () => {
  let rootfs: string;
  beforeEach(async () => {
    rootfs = await mkdtemp(join(tmpdir(), 'orcaops-rootfs-'));
    for (const dir of ['etc', 'var/lib/apt/lists/partial', 'var/cache/apt/archives/partial'])
      await mkdir(join(rootfs, dir), { recursive: true });
    await writeFile(join(rootfs, 'var/lib/apt/lists/deb.example_dists_bookworm_InRelease'), 'x');
    await writeFile(join(rootfs, 'var/cache/apt/archives/python3_3.11.deb'), 'x');
    await writeFile(join(rootfs, 'var/cache/apt/pkgcache.bin'), 'x');
    await writeFile(join(rootfs, 'etc/hostname'), 'build-host\n');
  });
  afterEach(() => rm(rootfs, { recursive: true, force: true }));

  it('drops apt lists and caches, host details, and adds /workspace for nobody', async () => {
    await tidyRootfs(rootfs);
    expect(await readdir(join(rootfs, 'var/lib/apt/lists'))).toEqual(['partial']);
    expect(await readdir(join(rootfs, 'var/cache/apt/archives'))).toEqual(['partial']);
    expect(await readdir(join(rootfs, 'var/cache/apt'))).toEqual(['archives']);
    const workspace = await stat(join(rootfs, 'workspace'));
    expect([workspace.uid, workspace.gid, workspace.mode & 0o7777]).toEqual([65534, 65534, 0o755]);
  });
});

describe('slimRootfs', () => {
  let rootfs: string;
  beforeEach(async () => {
    rootfs = await mkdtemp(join(tmpdir(), 'orcaops-rootfs-'));
    for (const dir of ['usr/share/doc/bash/examples', 'usr/share/man/man1', 'usr/share/locale/de/LC_MESSAGES', 'usr/share/zoneinfo'])
      await mkdir(join(rootfs, dir), { recursive: true });
    await writeFile(join(rootfs, 'usr/share/doc/bash/copyright'), 'GPL');
    await writeFile(join(rootfs, 'usr/share/doc/bash/examples/x.sh'), 'x');
    await writeFile(join(rootfs, 'usr/share/doc/bash/NEWS.gz'), 'x');
    await writeFile(join(rootfs, 'usr/share/man/man1/bash.1.gz'), 'x');
    await writeFile(join(rootfs, 'usr/share/locale/de/LC_MESSAGES/bash.mo'), 'x');
    await writeFile(join(rootfs, 'usr/share/zoneinfo/UTC'), 'x');
  });
  afterEach(() => rm(rootfs, { recursive: true, force: true }));

  it('keeps copyright files and everything outside docs, manuals and translations', async () => {
    await slimRootfs(rootfs);
    expect(await readdir(join(rootfs, 'usr/share/doc/bash'))).toEqual(['copyright']);
    expect(await readdir(join(rootfs, 'usr/share/man'))).toEqual([]);
    expect(await readdir(join(rootfs, 'usr/share/locale'))).toEqual([]);
    expect(await readdir(join(rootfs, 'usr/share/zoneinfo'))).toEqual(['UTC']);
  });
});
