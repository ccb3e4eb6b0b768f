import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { busyboxRootfsEntries, packRootfs, parseAppletList } from 'src/images/busybox-rootfs';
import { downloadDebianPackage } from 'src/images/debian-packages';
import { runCommand } from 'src/images/host-commands';
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
    step(`pack root file system (${applets.length} applets)`);
    const tar = await packRootfs(
      busyboxRootfsEntries(await readFile(binary), applets),
      (await stat(binary)).mtime,
    );
    return {
      open: () => Readable.from([tar]),
      version,
      changes: ['CMD ["/bin/sh"]', 'ENV PATH=/bin', 'WORKDIR /workspace'],
    };
  }
}
