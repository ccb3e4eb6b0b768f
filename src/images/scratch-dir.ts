import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from 'src/images/host-commands';

/** Undoes /proc/mounts octal escapes (`\040` is a space). */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Mount points at or below `dir` in /proc/mounts text, deepest first (the order to unmount them). */
export function mountPointsUnder(mountsText: string, dir: string): string[] {
  const root = dir.replace(/\/+$/, '');
  return mountsText
    .split('\n')
    .map((line) => unescapeMountPath(line.split(' ')[1] ?? ''))
    .filter((point) => point === root || point.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
}

async function mountsUnder(dir: string): Promise<string[]> {
  return mountPointsUnder(await readFile('/proc/mounts', 'utf8').catch(() => ''), dir);
}

/**
 * Removes a scratch directory. A failed debootstrap can leave /proc or /sys mounted inside its target:
 * those are unmounted first, and the directory is kept (with an error) rather than deleted through a mount.
 */
export async function removeScratchDir(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) {
    await runCommand('umount', [point]).catch(() => runCommand('umount', ['-l', point]).catch(() => ''));
  }
  const left = await mountsUnder(dir);
  if (left.length > 0)
    throw new Error(`kept ${dir}: still mounted (${left.join(', ')}); unmount and remove it by hand`);
  await rm(dir, { recursive: true, force: true });
}

/** Runs `fn` with a fresh private directory under the system temp dir, removed afterwards whatever happens. */
export async function withScratchDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `orcaops-${prefix}-`));
  let failure: unknown;
  try {
    return await fn(dir);
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    await removeScratchDir(dir).catch((cleanup: Error) => {
      // A failed cleanup never hides the build error; both are reported.
      throw failure instanceof Error
        ? new Error(`${failure.message}\n(cleanup: ${cleanup.message})`)
        : cleanup;
    });
  }
}
