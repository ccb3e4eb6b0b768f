/** The sandbox images OrcaOps builds itself, locally and without a registry (`orcaops images build`). */
export const STANDARD_IMAGE_NAMES = ['busybox', 'python'] as const;
export type StandardImageName = (typeof STANDARD_IMAGE_NAMES)[number];

export interface StandardImage {
  name: StandardImageName;
  repository: string;
  description: string;
}

export const STANDARD_IMAGES: readonly StandardImage[] = [
  {
    name: 'busybox',
    repository: 'orcaops/busybox',
    description: "static BusyBox from Debian's busybox-static",
  },
  { name: 'python', repository: 'orcaops/python', description: 'Debian bookworm (minbase) with python3' },
];

/** The tag every standard image is used by. */
export const STANDARD_TAG = 'latest';

export function standardReference(image: StandardImage): string {
  return `${image.repository}:${STANDARD_TAG}`;
}
