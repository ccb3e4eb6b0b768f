import { BusyboxRecipe } from 'src/images/recipes/busybox.recipe';
import { DebianBase } from 'src/images/debian-rootfs';
import type { ImageRecipe } from 'src/images/image-recipe';
import { DebianImageRecipe } from 'src/images/recipes/debian-image.recipe';
import { NODE_IMAGE } from 'src/images/recipes/node.recipe';
import { POSTGRES_IMAGE } from 'src/images/recipes/postgres.recipe';
import { PYTHON_IMAGE } from 'src/images/recipes/python.recipe';
import { REDIS_IMAGE } from 'src/images/recipes/redis.recipe';
import { withScratchDir } from 'src/images/scratch-dir';
import type { StandardImage, StandardImageName } from 'src/images/standard-images';
import { builtRevision, RECIPE_REVISION_LABEL, STANDARD_IMAGES, STANDARD_TAG, standardReference } from 'src/images/standard-images';
import type { ContainerRuntime, ImageInfo } from 'src/runtime/container-runtime.port';

/** The part of the engine port the builder needs. */
export type ImageRuntime = Pick<ContainerRuntime, 'inspectImage' | 'importImage'>;

export type BuildStatus = 'built' | 'skipped' | 'failed';

export interface BuildResult {
  name: StandardImageName;
  reference: string;
  status: BuildStatus;
  id?: string;
  size_bytes?: number;
  /** Version of the main content (Debian package version) when built now. */
  version?: string;
  duration_ms: number;
  error?: string;
}

export interface StandardImageState {
  name: StandardImageName;
  reference: string;
  present: boolean;
  id?: string;
  tags?: string[];
  size_bytes?: number;
  created_at?: string;
}

export interface BuildProgress {
  image: StandardImageName;
  step: string;
  /** Since this image's build started. */
  elapsedMs: number;
}

export interface BuildOptions {
  /** One image instead of all. */
  only?: StandardImageName;
  /** Rebuild images that already exist. */
  force?: boolean;
  /** Debian mirror for debootstrap (default: the host's apt configuration). */
  aptMirror?: string;
  /** Tag to build under instead of `latest` (to try a recipe change without replacing the images in use). */
  tag?: string;
  onProgress?: (progress: BuildProgress) => void;
}

function imageOf(name: StandardImageName): StandardImage {
  const image = STANDARD_IMAGES.find((candidate) => candidate.name === name);
  if (!image) throw new Error(`unknown standard image ${name}`);
  return image;
}

export function standardRecipes(): ImageRecipe[] {
  return [
    new BusyboxRecipe(imageOf('busybox')),
    new DebianImageRecipe(imageOf('python'), PYTHON_IMAGE),
    new DebianImageRecipe(imageOf('postgres'), POSTGRES_IMAGE),
    new DebianImageRecipe(imageOf('redis'), REDIS_IMAGE),
    new DebianImageRecipe(imageOf('node'), NODE_IMAGE),
  ];
}

/** Labels that say what a standard image is; values are quoted as Dockerfile strings. */
function labelChanges(image: StandardImage, version: string): string[] {
  const labels: Record<string, string> = {
    'org.opencontainers.image.title': image.repository,
    'org.opencontainers.image.description': image.description,
    'org.opencontainers.image.version': version,
    'org.orcaops.standard-image': image.name,
    [RECIPE_REVISION_LABEL]: String(image.revision),
  };
  return Object.entries(labels).map(([key, value]) => `LABEL ${key}=${JSON.stringify(value)}`);
}

function summary(image: StandardImage, reference: string, status: BuildStatus, started: number, info?: ImageInfo): BuildResult {
  return {
    name: image.name,
    reference,
    status,
    ...(info ? { id: info.id, size_bytes: info.sizeBytes } : {}),
    duration_ms: Math.round(performance.now() - started),
  };
}

/**
 * Builds the standard sandbox images from Debian packages and imports them through the runtime port
 * (`docker import`): no registry, no Dockerfile. Existing images are kept unless `force` is set or an older
 * recipe revision built them.
 * Needs no database, so the CLI and scripts/setup.sh use it directly.
 */
export class ImageBuilder {
  constructor(
    private readonly runtime: ImageRuntime,
    private readonly recipes: ImageRecipe[] = standardRecipes(),
  ) {}

  async build(options: BuildOptions = {}): Promise<BuildResult[]> {
    const selected = this.recipes.filter((r) => !options.only || r.image.name === options.only);
    // One Debian base for the whole run, made only if an image needs it (DebianBase is lazy). The images
    // build side by side once it exists: one image's downloads and imports overlap another's dpkg run.
    // Each build catches its own failure, so one failed image never stops the others.
    return withScratchDir('debian-base', (baseDir) => {
      const debianBase = new DebianBase(baseDir, options.aptMirror);
      return Promise.all(selected.map((recipe) => this.buildOne(recipe, options, debianBase)));
    });
  }

  async list(): Promise<StandardImageState[]> {
    return Promise.all(
      this.recipes.map(async ({ image }) => {
        const info = await this.runtime.inspectImage(standardReference(image));
        const base = { name: image.name, reference: standardReference(image), present: Boolean(info) };
        return info
          ? { ...base, id: info.id, tags: info.tags, size_bytes: info.sizeBytes, created_at: info.createdAt }
          : base;
      }),
    );
  }

  private async buildOne(recipe: ImageRecipe, options: BuildOptions, debianBase: DebianBase): Promise<BuildResult> {
    const started = performance.now();
    const { image } = recipe;
    const tag = options.tag ?? STANDARD_TAG;
    const reference = standardReference(image, tag);
    const existing = options.force ? undefined : await this.runtime.inspectImage(reference);
    // An image built by an older recipe is rebuilt: a fixed recipe reaches machines that built the old one.
    if (existing && builtRevision(existing.labels) >= image.revision) return summary(image, reference, 'skipped', started, existing);
    const step = (name: string): void =>
      options.onProgress?.({ image: image.name, step: name, elapsedMs: performance.now() - started });
    let version: string | undefined;
    try {
      const info = await withScratchDir(image.name, async (workDir) => {
        const prepared = await recipe.prepare({ workDir, step, aptMirror: options.aptMirror, debianBase });
        version = prepared.version;
        step(`import as ${reference}`);
        const changes = [...prepared.changes, ...labelChanges(image, prepared.version)];
        return this.runtime.importImage(prepared.open(), image.repository, tag, changes);
      });
      return { ...summary(image, reference, 'built', started, info), version };
    } catch (error) {
      return {
        ...summary(image, reference, 'failed', started),
        error: error instanceof Error ? error.message : String(error),
      };
    }
  }
}
