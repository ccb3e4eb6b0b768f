import { createReadStream } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { installedVersion } from 'src/images/debian-packages';
import { installPackages, packTar, purgeUnused, slimRootfs, tidyRootfs } from 'src/images/debian-rootfs';
import type { ImageRecipe, PreparedRootfs, RecipeContext } from 'src/images/image-recipe';
import type { StandardImage } from 'src/images/standard-images';

/** A file a recipe writes into the root file system (path relative to its root). */
export interface RootfsFile {
  path: string;
  content: string;
  mode: number;
}

/** What a Debian-based standard image is: its packages, what it drops, what it adds, how it starts. */
export interface DebianImageDefinition {
  /** apt packages (dependencies follow, recommends do not). */
  packages: string[];
  /** The package whose version labels the image. */
  versionPackage: string;
  /** Written before the install (configuration the packages' scripts read). */
  beforeInstall?: RootfsFile[];
  /** Packages removed afterwards without their dependants: optional parts the image never uses. */
  purge?: string[];
  /** Paths removed afterwards (relative to the root). */
  remove?: string[];
  /** Written after the install (entrypoints). */
  files?: RootfsFile[];
  /** Last adjustments on the root file system (e.g. links). */
  finish?: (rootfs: string) => Promise<void>;
  /** Dockerfile instructions applied on import (ENV, USER, ENTRYPOINT, CMD, WORKDIR, EXPOSE). */
  changes: string[];
}

async function writeFiles(rootfs: string, files: RootfsFile[] = []): Promise<void> {
  for (const file of files) {
    const path = join(rootfs, file.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, file.content);
    await chmod(path, file.mode);
  }
}

/**
 * A standard image made from the shared Debian base (debian-rootfs.ts) plus its own packages, installed
 * with apt in a chroot; no registry, no Dockerfile.
 */
export class DebianImageRecipe implements ImageRecipe {
  constructor(
    readonly image: StandardImage,
    private readonly definition: DebianImageDefinition,
  ) {}

  async prepare({ workDir, step, debianBase }: RecipeContext): Promise<PreparedRootfs> {
    const d = this.definition;
    const rootfs = join(workDir, 'rootfs');
    await debianBase.copyTo(rootfs, step);
    await writeFiles(rootfs, d.beforeInstall);
    await installPackages(rootfs, d.packages, step);
    step('trim and tidy the root file system');
    if (d.purge?.length) await purgeUnused(rootfs, d.purge);
    for (const path of d.remove ?? []) await rm(join(rootfs, path), { recursive: true, force: true });
    await writeFiles(rootfs, d.files);
    await d.finish?.(rootfs);
    await slimRootfs(rootfs);
    await tidyRootfs(rootfs);
    const version = installedVersion(await readFile(join(rootfs, 'var/lib/dpkg/status'), 'utf8'), d.versionPackage);
    step('pack root file system (tar)');
    const tar = join(workDir, 'rootfs.tar');
    await packTar(rootfs, tar);
    return { open: () => createReadStream(tar), version: version ?? 'unknown', changes: d.changes };
  }
}
