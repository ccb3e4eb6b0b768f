import { createReadStream } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveDebianMirror } from 'src/images/apt-sources';
import { NOBODY } from 'src/images/busybox-rootfs';
import { ensureHostTool, installedVersion } from 'src/images/debian-packages';
import { isRoot, runCommand } from 'src/images/host-commands';
import type { ImageRecipe, PreparedRootfs, RecipeContext } from 'src/images/image-recipe';
import type { StandardImage } from 'src/images/standard-images';

const SUITE = 'bookworm';
const DEBOOTSTRAP_TIMEOUT_MS = 30 * 60_000;
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

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

function bootstrap(rootfs: string, mirror: string, step: (name: string) => void): Promise<string> {
  step(`debootstrap ${SUITE} (minbase + python3) from ${mirror}, about a minute`);
  return runCommand('debootstrap', ['--variant=minbase', '--include=python3', SUITE, rootfs, mirror], {
    timeoutMs: DEBOOTSTRAP_TIMEOUT_MS,
    onLine: debootstrapPhases(step),
  });
}

/** The engine provides /dev, /proc and /sys; their build-time contents stay out of the image. */
function packTar(rootfs: string, tar: string): Promise<string> {
  const excludes = ['./dev/*', './proc/*', './sys/*'].map((path) => `--exclude=${path}`);
  return runCommand('tar', ['--numeric-owner', ...excludes, '-C', rootfs, '-cf', tar, '.']);
}

/** orcaops/python: a minimal Debian bookworm (debootstrap minbase) with python3, from a Debian mirror. */
export class PythonRecipe implements ImageRecipe {
  constructor(readonly image: StandardImage) {}

  async prepare({ workDir, step, aptMirror }: RecipeContext): Promise<PreparedRootfs> {
    if (!isRoot()) {
      throw new Error(
        `building ${this.image.repository} runs debootstrap, which needs root: run \`orcaops images build --only python\` as root`,
      );
    }
    step('find a Debian mirror');
    const mirror = await resolveDebianMirror(SUITE, aptMirror);
    await ensureHostTool('debootstrap', 'debootstrap');
    const rootfs = join(workDir, 'rootfs');
    await bootstrap(rootfs, mirror, step);
    step('tidy root file system');
    await tidyRootfs(rootfs);
    const version = installedVersion(await readFile(join(rootfs, 'var/lib/dpkg/status'), 'utf8'), 'python3');
    step('pack root file system (tar)');
    const tar = join(workDir, 'rootfs.tar');
    await packTar(rootfs, tar);
    return {
      open: () => createReadStream(tar),
      version: version ?? 'unknown',
      changes: [`ENV PATH=${PATH}`, 'ENV LANG=C.UTF-8', 'WORKDIR /workspace', 'CMD ["/bin/sh"]'],
    };
  }
}
