import { chmod, chown, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveDebianMirror } from 'src/images/apt-sources';
import { NOBODY } from 'src/images/busybox-rootfs';
import { ensureHostTool } from 'src/images/debian-packages';
import { isRoot, runCommand } from 'src/images/host-commands';

/**
 * The Debian root file systems of the standard images: one debootstrap (minbase) per build run, copied for
 * each image, which then installs its own packages with apt inside the copy (chroot). The debootstrap is
 * most of a build's time, so sharing it keeps every image after the first at its own packages' cost.
 */

export const SUITE = 'bookworm';
export const STANDARD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEBOOTSTRAP_TIMEOUT_MS = 30 * 60_000;
const APT_TIMEOUT_MS = 20 * 60_000;

/** dpkg settings for the build only (removed before packing): no fsync per file, the image is rebuilt on failure. */
const UNSAFE_IO_CONFIG = 'etc/dpkg/dpkg.cfg.d/orcaops-build-unsafe-io';
/**
 * Kept in the image, as Debian's own container images do: packages installed later skip documentation,
 * manual pages and translations (the copyright files stay).
 */
const SLIM_CONFIG = 'etc/dpkg/dpkg.cfg.d/orcaops-slim';
export const SLIM_DPKG_CONFIG = [
  'path-exclude /usr/share/doc/*',
  'path-include /usr/share/doc/*/copyright',
  'path-exclude /usr/share/man/*',
  'path-exclude /usr/share/info/*',
  'path-exclude /usr/share/locale/*',
  'path-exclude /usr/share/lintian/*',
  '',
].join('\n');
/** Services never start inside the build chroot (invoke-rc.d asks this script; 101 = action forbidden). */
const POLICY_RC_D = 'usr/sbin/policy-rc.d';

async function removeEntries(dir: string, keep: (name: string) => boolean): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names.filter((name) => !keep(name)).map((name) => rm(join(dir, name), { recursive: true, force: true })),
  );
}

/** Drops apt's caches and lists, host details debootstrap copied in, and adds /workspace for nobody. */
export async function tidyRootfs(rootfs: string): Promise<void> {
  await removeEntries(join(rootfs, 'var/lib/apt/lists'), (name) => name === 'partial' || name === 'lock');
  await removeEntries(join(rootfs, 'var/cache/apt/archives'), (name) => !name.endsWith('.deb'));
  await removeEntries(join(rootfs, 'var/cache/apt'), (name) => !name.endsWith('.bin'));
  // The engine provides these per container; the image should not carry the build host's.
  await writeFile(join(rootfs, 'etc/hostname'), 'localhost\n');
  await writeFile(join(rootfs, 'etc/resolv.conf'), '');
  const workspace = join(rootfs, 'workspace');
  await mkdir(workspace, { recursive: true });
  await chown(workspace, NOBODY, NOBODY);
  await chmod(workspace, 0o755);
}

/** debootstrap prints `I: <Verb> ...` per package; show the first line of each verb as a progress step. */
export function debootstrapPhases(step: (name: string) => void): (line: string) => void {
  const seen = new Set<string>();
  return (line) => {
    const verb = /^I: (\w+)/.exec(line)?.[1];
    if (!verb || seen.has(verb)) return;
    seen.add(verb);
    step(`debootstrap: ${line.slice(3).trim()}`);
  };
}

/**
 * Drops documentation, manual pages and translations the base system was installed with (packages
 * installed after prepareForApt never unpack them); copyright files stay.
 */
export async function slimRootfs(rootfs: string): Promise<void> {
  await runCommand('find', [join(rootfs, 'usr/share/doc'), '-mindepth', '1', '-not', '-type', 'd', '-not', '-name', 'copyright', '-delete']);
  await runCommand('find', [join(rootfs, 'usr/share/doc'), '-mindepth', '1', '-type', 'd', '-empty', '-delete']);
  for (const dir of ['usr/share/man', 'usr/share/info', 'usr/share/locale', 'usr/share/lintian']) await removeEntries(join(rootfs, dir), () => false);
}

/** The engine provides /dev, /proc and /sys; their build-time contents stay out of the image. */
export function packTar(rootfs: string, tar: string): Promise<string> {
  const excludes = ['./dev/*', './proc/*', './sys/*'].map((path) => `--exclude=${path}`);
  return runCommand('tar', ['--numeric-owner', ...excludes, '-C', rootfs, '-cf', tar, '.']);
}

/** Makes a copy of a root file system ready for `apt-get install` in a chroot. */
async function prepareForApt(rootfs: string): Promise<void> {
  await writeFile(join(rootfs, UNSAFE_IO_CONFIG), 'force-unsafe-io\n');
  await writeFile(join(rootfs, SLIM_CONFIG), SLIM_DPKG_CONFIG);
  await writeFile(join(rootfs, POLICY_RC_D), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
}

/**
 * Installs Debian packages (and their dependencies, without recommends) into a root file system from
 * the package lists debootstrap left there, so no `apt-get update` is needed.
 */
export async function installPackages(rootfs: string, packages: string[], step: (name: string) => void): Promise<void> {
  await prepareForApt(rootfs);
  step(`apt-get install ${packages.join(' ')}`);
  await runCommand('chroot', [rootfs, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...packages], {
    timeoutMs: APT_TIMEOUT_MS,
    onLine: (line) => {
      if (/^(Need to get|\d+ upgraded, \d+ newly installed)/.test(line)) step(`apt: ${line.trim()}`);
    },
  });
  await rm(join(rootfs, UNSAFE_IO_CONFIG), { force: true });
  await rm(join(rootfs, POLICY_RC_D), { force: true });
}

/**
 * Removes packages without their dependants (`dpkg --force-depends`): for optional parts a package
 * depends on but the image never uses (the LLVM of PostgreSQL's JIT).
 */
export async function purgeUnused(rootfs: string, packages: string[]): Promise<void> {
  await runCommand('chroot', [rootfs, 'dpkg', '--purge', '--force-depends', ...packages], { timeoutMs: APT_TIMEOUT_MS });
}

/**
 * One debootstrap (minbase) per build run, made on first use and copied for every image that needs it.
 * Lives in the builder's scratch directory, removed with it.
 */
export class DebianBase {
  private base?: Promise<string>;

  constructor(
    private readonly dir: string,
    private readonly aptMirror?: string,
  ) {}

  /** A fresh copy of the base root file system at `target`. */
  async copyTo(target: string, step: (name: string) => void): Promise<void> {
    const base = await (this.base ??= this.bootstrap(step));
    step('copy the Debian base');
    await runCommand('cp', ['-a', base, target]);
  }

  private async bootstrap(step: (name: string) => void): Promise<string> {
    if (!isRoot()) {
      throw new Error('building the Debian-based standard images runs debootstrap and chroot, which need root: run `orcaops images build` as root');
    }
    step('find a Debian mirror');
    const mirror = await resolveDebianMirror(SUITE, this.aptMirror);
    await ensureHostTool('debootstrap', 'debootstrap');
    const rootfs = join(this.dir, 'base');
    step(`debootstrap ${SUITE} (minbase) from ${mirror}, about a minute; shared by the Debian-based images`);
    await runCommand('debootstrap', ['--variant=minbase', SUITE, rootfs, mirror], {
      timeoutMs: DEBOOTSTRAP_TIMEOUT_MS,
      onLine: debootstrapPhases(step),
    });
    return rootfs;
  }
}
