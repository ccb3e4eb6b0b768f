import { parseImageReference, pinnedReference } from 'src/runtime/image-reference';

/**
 * A run's image pins: the first time a run resolves a registry reference (a job's `container:` or a
 * service's image), its digest is kept on the run; later jobs of the run, and its reruns, use
 * `repository@digest`, so a tag moved in the registry meanwhile does not change what the run runs.
 */
export function pinImage(image: string, pins: Record<string, string> | undefined): string {
  const digest = pins?.[image];
  if (!digest) return image;
  try {
    const ref = parseImageReference(image);
    return ref.digest ? image : pinnedReference(ref, digest);
  } catch {
    // Not a reference the engine would parse either: left as written, its pull fails typed.
    return image;
  }
}
