import { Command, Option } from 'commander';
import { action, outputOptions } from 'src/cli/command-context';
import { imagesCacheCommand } from 'src/cli/commands/images-cache.command';
import { loadDockerEngine, loadImageBuilder, loadServerConfig } from 'src/cli/deferred';
import { formatBytes, formatSeconds, info, render, shortId } from 'src/cli/output';
import type { BuildProgress, BuildResult, StandardImageState } from 'src/images/image-builder';
import type { StandardImageName } from 'src/images/standard-images';
import { STANDARD_IMAGE_NAMES } from 'src/images/standard-images';

function showProgress({ image, step, elapsedMs }: BuildProgress): void {
  info(`[${image} ${formatSeconds(elapsedMs).padStart(6)}] ${step}`);
}

function buildRows(results: BuildResult[]): Array<Record<string, unknown>> {
  return results.map((r) => ({
    ...r,
    id: shortId(r.id),
    size: formatBytes(r.size_bytes),
    duration: formatSeconds(r.duration_ms),
  }));
}

function listRows(states: StandardImageState[]): Array<Record<string, unknown>> {
  return states.map((s) => ({
    ...s,
    present: s.present ? 'yes' : 'no',
    id: shortId(s.id),
    size: formatBytes(s.size_bytes),
  }));
}

function reportOutcome(results: BuildResult[], elapsedMs: number): void {
  for (const failed of results.filter((r) => r.status === 'failed'))
    info(`${failed.name} failed: ${failed.error ?? 'unknown error'}`);
  const count = (status: BuildResult['status']): number => results.filter((r) => r.status === status).length;
  info(
    `images build: ${count('built')} built, ${count('skipped')} skipped (already present and current; --force rebuilds), ${count('failed')} failed in ${formatSeconds(elapsedMs)}`,
  );
  if (count('failed') > 0) process.exitCode = 1;
}

function buildCommand(): Command {
  return new Command('build')
    .description('Build the missing standard images from Debian packages (no registry); python needs root')
    .addOption(new Option('--only <image>', 'build one image').choices(STANDARD_IMAGE_NAMES))
    .option('--force', 'rebuild images that already exist', false)
    .action(
      action(async (o: { only?: StandardImageName; force: boolean }, c: Command) => {
        const [{ localEngine, requireEngine }, { ImageBuilder }, { readEnv }] = await Promise.all([loadDockerEngine(), loadImageBuilder(), loadServerConfig()]);
        const local = localEngine();
        await requireEngine(local);
        const started = performance.now();
        const builder = new ImageBuilder(local.engine);
        const results = await builder.build({
          only: o.only,
          force: o.force,
          aptMirror: readEnv().ORCAOPS_APT_MIRROR,
          onProgress: showProgress,
        });
        const elapsedMs = performance.now() - started;
        render(
          outputOptions(c),
          { items: results, duration_ms: Math.round(elapsedMs) },
          {
            columns: ['name', 'status', 'reference', 'id', 'size', 'version', 'duration'],
            items: () => buildRows(results),
          },
        );
        reportOutcome(results, elapsedMs);
      }),
    );
}

function listCommand(): Command {
  return new Command('list').description('Show which standard images exist (id, size)').action(
    action(async (_o: object, c: Command) => {
      const [{ localEngine, requireEngine }, { ImageBuilder }] = await Promise.all([loadDockerEngine(), loadImageBuilder()]);
      const local = localEngine();
      await requireEngine(local);
      const states = await new ImageBuilder(local.engine).list();
      render(
        outputOptions(c),
        { items: states },
        {
          columns: ['name', 'reference', 'present', 'id', 'size', 'created_at'],
          items: () => listRows(states),
        },
      );
      if (!outputOptions(c).json && states.some((s) => !s.present))
        info('Missing images: run `orcaops images build`.');
    }),
  );
}

export function imagesCommand(): Command {
  return new Command('images')
    .description(
      'Standard sandbox images (orcaops/busybox, orcaops/python), built locally without a registry; the image cache',
    )
    .addCommand(buildCommand())
    .addCommand(listCommand())
    .addCommand(imagesCacheCommand());
}
