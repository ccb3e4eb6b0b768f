import { registerAs } from '@nestjs/config';
import { readEnv } from 'src/config/orcaops.config';

/** The image cache's collector (issue 13 part 4; docs/images.md, "Image cache"). */
export const imageCacheConfig = registerAs('imageCache', () => ({
  /** Disk budget of pulled and built images; undefined: no periodic collector. */
  budgetBytes: readEnv().ORCAOPS_IMAGE_CACHE_BYTES,
  /** How often the collector runs when a budget is set. */
  intervalMs: 5 * 60_000,
  /** The periodic pass leaves images used this recently (a run may have resolved one and not yet created its container). */
  graceMs: 10 * 60_000,
}));

export type ImageCacheConfig = ReturnType<typeof imageCacheConfig>;
