import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ImageRecipe, PreparedRootfs, RecipeContext } from 'src/images/image-recipe';
import type { BuildProgress } from 'src/images/image-builder';
import { ImageBuilder } from 'src/images/image-builder';
import { STANDARD_IMAGES } from 'src/images/standard-images';
import type { StandardImage } from 'src/images/standard-images';
import type { ImageInfo } from 'src/runtime/container-runtime.port';

/** An in-memory engine with just the two image operations the builder uses. */
class ImageEngine {
  readonly images = new Map<string, ImageInfo>();
  readonly imports: Array<{ reference: string; changes: string[]; bytes: number }> = [];

  inspectImage(reference: string): Promise<ImageInfo | undefined> {
    return Promise.resolve(this.images.get(reference));
  }

  async importImage(tar: Readable, repository: string, tag: string, changes: string[]): Promise<ImageInfo> {
    let bytes = 0;
    for await (const chunk of tar) bytes += (chunk as Buffer).length;
    const info: ImageInfo = {
      id: `sha256:${this.imports.length}`,
      tags: [`${repository}:${tag}`],
      sizeBytes: bytes,
      createdAt: 'now',
    };
    this.images.set(`${repository}:${tag}`, info);
    this.imports.push({ reference: `${repository}:${tag}`, changes, bytes });
    return info;
  }
}

class StubRecipe implements ImageRecipe {
  workDirs: string[] = [];
  constructor(
    readonly image: StandardImage,
    private readonly fail = false,
  ) {}

  prepare({ workDir, step }: RecipeContext): Promise<PreparedRootfs> {
    this.workDirs.push(workDir);
    step('make rootfs');
    if (this.fail) return Promise.reject(new Error('no mirror'));
    return Promise.resolve({
      open: () => Readable.from([Buffer.from('tar!')]),
      version: '1.0+b1',
      changes: ['CMD ["/bin/sh"]'],
    });
  }
}

const [busybox, python] = STANDARD_IMAGES as [StandardImage, StandardImage];

describe('ImageBuilder', () => {
  let engine: ImageEngine;
  beforeEach(() => {
    engine = new ImageEngine();
  });

  it('skips images that exist and builds the missing ones', async () => {
    engine.images.set('orcaops/busybox:latest', {
      id: 'sha256:old',
      tags: [],
      sizeBytes: 1,
      createdAt: 'then',
      labels: { 'org.orcaops.recipe-revision': String(busybox.revision) },
    });
    const results = await new ImageBuilder(engine, [new StubRecipe(busybox), new StubRecipe(python)]).build();

    expect(results.map((r) => [r.name, r.status, r.id])).toEqual([
      ['busybox', 'skipped', 'sha256:old'],
      ['python', 'built', 'sha256:0'],
    ]);
    expect(engine.imports).toHaveLength(1);
  });

  it('rebuilds an image an older recipe revision built, and keeps one built by the current revision', async () => {
    engine.images.set('orcaops/busybox:latest', { id: 'sha256:old', tags: [], sizeBytes: 1, createdAt: 'then', labels: { 'org.orcaops.recipe-revision': String(busybox.revision - 1) } });
    engine.images.set('orcaops/python:latest', { id: 'sha256:current', tags: [], sizeBytes: 1, createdAt: 'then', labels: { 'org.orcaops.recipe-revision': String(python.revision) } });
    const results = await new ImageBuilder(engine, [new StubRecipe(busybox), new StubRecipe(python)]).build();
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['busybox', 'built'],
      ['python', 'skipped'],
    ]);
    expect(engine.imports[0]!.changes).toContain(`LABEL org.orcaops.recipe-revision="${busybox.revision}"`);
  });

  it('rebuilds with force, only the selected image, with its changes and labels, and removes the scratch dir', async () => {
    engine.images.set('orcaops/busybox:latest', {
      id: 'sha256:old',
      tags: [],
      sizeBytes: 1,
      createdAt: 'then',
    });
    const recipe = new StubRecipe(busybox);
    const progress: BuildProgress[] = [];
    const results = await new ImageBuilder(engine, [recipe, new StubRecipe(python)]).build({
      only: 'busybox',
      force: true,
      onProgress: (p) => progress.push(p),
    });

    expect(results).toEqual([
      expect.objectContaining({ name: 'busybox', status: 'built', version: '1.0+b1', size_bytes: 4 }),
    ]);
    expect(engine.imports[0]?.changes).toEqual([
      'CMD ["/bin/sh"]',
      'LABEL org.opencontainers.image.title="orcaops/busybox"',
      `LABEL org.opencontainers.image.description=${JSON.stringify(busybox.description)}`,
      'LABEL org.opencontainers.image.version="1.0+b1"',
      'LABEL org.orcaops.standard-image="busybox"',
      `LABEL org.orcaops.recipe-revision="${busybox.revision}"`,
    ]);
    expect(progress.map((p) => p.step)).toEqual(['make rootfs', 'import as orcaops/busybox:latest']);
    expect(recipe.workDirs.every((dir) => !existsSync(dir))).toBe(true);
  });

  it('reports a failed image and goes on with the next', async () => {
    const failing = new StubRecipe(busybox, true);
    const results = await new ImageBuilder(engine, [failing, new StubRecipe(python)]).build();

    expect(results.map((r) => [r.name, r.status, r.error])).toEqual([
      ['busybox', 'failed', 'no mirror'],
      ['python', 'built', undefined],
    ]);
    expect(existsSync(failing.workDirs[0] ?? '')).toBe(false);
  });

  it('builds a candidate under another tag, beside a current latest, and shares one Debian base between recipes', async () => {
    engine.images.set('orcaops/python:latest', { id: 'sha256:current', tags: [], sizeBytes: 1, createdAt: 'then', labels: { 'org.orcaops.recipe-revision': String(python.revision) } });
    const bases: unknown[] = [];
    const spy = (recipe: StubRecipe): StubRecipe => {
      const prepare = recipe.prepare.bind(recipe);
      recipe.prepare = (context) => (bases.push(context.debianBase), prepare(context));
      return recipe;
    };
    const results = await new ImageBuilder(engine, [spy(new StubRecipe(busybox)), spy(new StubRecipe(python))]).build({ tag: 'candidate' });

    expect(results.map((r) => [r.reference, r.status])).toEqual([
      ['orcaops/busybox:candidate', 'built'],
      ['orcaops/python:candidate', 'built'],
    ]);
    expect(engine.images.get('orcaops/python:latest')?.id).toBe('sha256:current');
    expect(bases).toHaveLength(2);
    expect(bases[0]).toBe(bases[1]);
  });

  it('lists the standard images and whether they are present', async () => {
    engine.images.set('orcaops/python:latest', {
      id: 'sha256:py',
      tags: ['orcaops/python:latest'],
      sizeBytes: 9,
      createdAt: 'then',
    });
    const states = await new ImageBuilder(engine, [new StubRecipe(busybox), new StubRecipe(python)]).list();

    expect(states).toEqual([
      { name: 'busybox', reference: 'orcaops/busybox:latest', present: false },
      {
        name: 'python',
        reference: 'orcaops/python:latest',
        present: true,
        id: 'sha256:py',
        tags: ['orcaops/python:latest'],
        size_bytes: 9,
        created_at: 'then',
      },
    ]);
  });
});
