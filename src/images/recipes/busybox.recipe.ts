import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  busyboxRootfsEntries,
  packRootfs,
  parseAppletList,
  patchWgetTimeoutOption,
} from 'src/images/busybox-rootfs';
import { downloadDebianPackage } from 'src/images/debian-packages';
import { HostCommandError, runCommand } from 'src/images/host-commands';
import type { ImageRecipe, PreparedRootfs, RecipeContext } from 'src/images/image-recipe';
import type { StandardImage } from 'src/images/standard-images';

const PACKAGE = 'busybox-static';

/** orcaops/busybox: the static busybox binary from Debian, its applets linked in /bin, nothing else. */
export class BusyboxRecipe implements ImageRecipe {
  constructor(readonly image: StandardImage) {}

  async prepare({ workDir, step }: RecipeContext): Promise<PreparedRootfs> {
    step(`download ${PACKAGE} (apt-get download)`);
    const deb = await downloadDebianPackage(PACKAGE, workDir);
    const version = (await runCommand('dpkg-deb', ['--field', deb, 'Version'])).trim();
    step(`extract ${PACKAGE} ${version}`);
    const extracted = join(workDir, 'package');
    await runCommand('dpkg-deb', ['-x', deb, extracted]);
    const binary = join(extracted, 'bin', 'busybox');
    const applets = parseAppletList(await runCommand(binary, ['--list']));
    step('patch wget -T (segfaults in Debian\'s build) and check it');
    const patched = join(workDir, 'busybox');
    await writeFile(patched, patchWgetTimeoutOption(await readFile(binary)));
    await chmod(patched, 0o755);
    await checkWgetTimeoutOption(patched);
    step(`pack root file system (${applets.length} applets)`);
    const tar = await packRootfs(
      busyboxRootfsEntries(await readFile(patched), applets),
      (await stat(binary)).mtime,
    );
    return {
      open: () => Readable.from([tar]),
      version,
      changes: ['CMD ["/bin/sh"]', 'ENV PATH=/bin', 'WORKDIR /workspace'],
    };
  }
}

/**
 * Runs the patched wget with `-T` on a URL it refuses before any network use: it must exit 1 with its
 * own message, not die of a signal, or the build fails rather than ship a wget that crashes.
 */
async function checkWgetTimeoutOption(busybox: string): Promise<void> {
  try {
    await runCommand(busybox, ['wget', '-T', '1', '-q', '-O', '-', 'notaurl://x'], { timeoutMs: 30_000 });
  } catch (error) {
    if (error instanceof HostCommandError && /not an http or ftp url/.test(error.output)) return;
    throw new Error(`patched busybox wget -T does not behave: ${(error as Error).message}`);
  }
  throw new Error('patched busybox wget accepted an invalid URL');
}
