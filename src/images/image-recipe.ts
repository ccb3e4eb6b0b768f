import type { Readable } from 'node:stream';
import type { StandardImage } from 'src/images/standard-images';

/** What a recipe may use while it prepares a root file system. */
export interface RecipeContext {
  /** A private scratch directory, removed after the build. */
  workDir: string;
  /** Announces the next step (shown as progress). */
  step: (name: string) => void;
  /** Debian mirror override (ORCAOPS_APT_MIRROR); otherwise recipes read the host's apt configuration. */
  aptMirror?: string;
  /** The Debian base shared by every image of one build run (debootstrap once, copied per image). */
  debianBase: DebianBaseSource;
}

/** Hands out copies of one Debian root file system (src/images/debian-rootfs.ts `DebianBase`). */
export interface DebianBaseSource {
  copyTo(target: string, step: (name: string) => void): Promise<void>;
}

/** A root file system ready for `importImage`. */
export interface PreparedRootfs {
  /** The uncompressed tar; called once. */
  open(): Readable;
  /** Version of the main content, e.g. the Debian package version; recorded as an image label. */
  version: string;
  /** Dockerfile instructions applied on import (CMD, ENV, WORKDIR). */
  changes: string[];
}

/** How one standard image is made from Debian packages, without a registry. */
export interface ImageRecipe {
  image: StandardImage;
  prepare(context: RecipeContext): Promise<PreparedRootfs>;
}
