/** The sandbox images OrcaOps builds itself, locally and without a registry (`orcaops images build`). */
export const STANDARD_IMAGE_NAMES = ['busybox', 'python', 'postgres', 'redis', 'node'] as const;
export type StandardImageName = (typeof STANDARD_IMAGE_NAMES)[number];

export interface StandardImage {
  name: StandardImageName;
  repository: string;
  description: string;
  /**
   * Raised whenever the recipe changes what goes into the image; `orcaops images build` rebuilds an
   * image whose label carries an older revision (images from before the label count as revision 1).
   */
  revision: number;
}

export const STANDARD_IMAGES: readonly StandardImage[] = [
  {
    name: 'busybox',
    repository: 'orcaops/busybox',
    description: "static BusyBox from Debian's busybox-static",
    // 2: wget accepts -T (it crashed on it before).
    revision: 2,
  },
  {
    name: 'python',
    repository: 'orcaops/python',
    description: 'Debian bookworm (minbase) with python3, pip and venv',
    // 2: pip and venv; built from the shared Debian base, without documentation.
    revision: 2,
  },
  {
    name: 'postgres',
    repository: 'orcaops/postgres',
    description: "Debian bookworm (minbase) with PostgreSQL's server and clients, run as nobody",
    revision: 1,
  },
  { name: 'redis', repository: 'orcaops/redis', description: 'Debian bookworm (minbase) with redis-server and redis-cli, run as nobody', revision: 1 },
  { name: 'node', repository: 'orcaops/node', description: 'Debian bookworm (minbase) with Node.js and npm', revision: 1 },
];

/** The tag every standard image is used by. */
export const STANDARD_TAG = 'latest';

/** The label that records which recipe revision built a standard image. */
export const RECIPE_REVISION_LABEL = 'org.orcaops.recipe-revision';

/** The recipe revision an image on the engine was built from (1 when it predates the label). */
export function builtRevision(labels: Record<string, string> | undefined): number {
  const value = Number(labels?.[RECIPE_REVISION_LABEL] ?? '1');
  return Number.isInteger(value) && value > 0 ? value : 1;
}

export function standardReference(image: StandardImage, tag: string = STANDARD_TAG): string {
  return `${image.repository}:${tag}`;
}
