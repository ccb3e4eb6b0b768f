import { Command, InvalidArgumentError, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { dockerignoreMatcher, packSourceDir } from 'src/cli/source-archive';
import { parseSse } from 'src/cli/sse';
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

function parseTag(value: string): string {
  // The engine's tag grammar: what follows `repository:`.
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(value)) throw new InvalidArgumentError('a tag is letters, digits, _ . - (at most 128)');
  return value;
}

function buildCommand(): Command {
  return new Command('build')
    .description('Build the missing standard images from Debian packages (no registry); the Debian-based ones need root')
    .addOption(new Option('--only <image>', 'build one image').choices(STANDARD_IMAGE_NAMES))
    .option('--force', 'rebuild images that already exist', false)
    .addOption(new Option('--tag <tag>', 'build under this tag instead of latest (to try a recipe without replacing the images in use)').argParser(parseTag))
    .action(
      action(async (o: { only?: StandardImageName; force: boolean; tag?: string }, c: Command) => {
        const [{ localEngine, requireEngine }, { ImageBuilder }, { readEnv }] = await Promise.all([loadDockerEngine(), loadImageBuilder(), loadServerConfig()]);
        const local = localEngine();
        await requireEngine(local);
        const started = performance.now();
        const builder = new ImageBuilder(local.engine);
        const results = await builder.build({
          only: o.only,
          force: o.force,
          ...(o.tag ? { tag: o.tag } : {}),
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
  return new Command('list').description('Show which standard images exist (id, size); --built: this workspace\'s built images (server)')
    .option('--built', "this workspace's images built with `images build-context` (through the server)")
    .action(
    action(async (o: { built?: boolean }, c: Command) => {
      if (o.built) return listBuilt(c);
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

const BUILT_COLUMNS = ['id', 'image', 'status', 'size', 'created_at', 'error'];

interface BuildRecord {
  id: string;
  image: string;
  status: string;
  size_bytes: number | null;
  error: string | null;
}

async function listBuilt(c: Command): Promise<void> {
  const listed = await new ApiClient().request<{ items: BuildRecord[] }>('GET', '/v1/images/builds');
  render(outputOptions(c), listed, { columns: BUILT_COLUMNS, items: () => listed.items.map((b) => ({ ...b, size: formatBytes(b.size_bytes ?? undefined) })) });
}

/** `NAME[:TAG]` → name and tag (a colon after the last slash starts the tag). */
function splitTag(value: string): { name: string; tag?: string } {
  const colon = value.lastIndexOf(':');
  return colon > value.lastIndexOf('/') ? { name: value.slice(0, colon), tag: value.slice(colon + 1) } : { name: value };
}

/** Follows the build's log to its end event; the output goes to stderr with --json, else to stdout. */
async function followBuild(client: ApiClient, id: string, json: boolean): Promise<BuildRecord> {
  const response = await client.raw('GET', `/v1/images/builds/${id}/log`, undefined, { headers: { accept: 'text/event-stream' } });
  for await (const event of parseSse(response.body!)) {
    const data = JSON.parse(event.data) as { data?: string } & BuildRecord;
    if (event.event === 'output' && data.data) (json ? process.stderr : process.stdout).write(data.data);
    if (event.event === 'end') return data;
  }
  return client.request<BuildRecord>('GET', `/v1/images/builds/${id}`);
}

function buildContextCommand(): Command {
  return new Command('build-context')
    .description("Build a workspace image from DIR (its Dockerfile; .dockerignore honoured) on the server, streaming the build output")
    .argument('<dir>', 'build context directory')
    .option('-t, --tag <name:tag>', 'image name and tag in the workspace (default: the directory name, tag latest)')
    .option('-f, --file <path>', 'Dockerfile path inside DIR', 'Dockerfile')
    .option('--no-follow', 'return once the build is queued')
    .action(
      action(async (dir: string, o: { tag?: string; file: string; follow: boolean }, c: Command) => {
        const root = resolve(dir);
        const ignoreText = await readFile(join(root, '.dockerignore'), 'utf8').catch(() => '');
        const packed = await packSourceDir(root, { excludes: ['.git'], ignore: dockerignoreMatcher(ignoreText, o.file) }).catch((error: Error) => {
          throw new CliError('payload_too_large', error.message);
        });
        const { name, tag } = splitTag(o.tag ?? basename(root).toLowerCase().replace(/[^a-z0-9._-]+/g, '-'));
        const query = new URLSearchParams({ name, dockerfile: o.file, ...(tag ? { tag } : {}) });
        const client = new ApiClient();
        const json = outputOptions(c).json;
        if (!json) info(`orcaops: context ${root}: ${packed.files} files, ${formatBytes(packed.bytes)}`);
        const response = await client.send('POST', `/v1/images/builds?${query.toString()}`, new Blob([packed.tar]).stream(), 'application/x-tar');
        const queued = (await response.json()) as BuildRecord;
        if (!json) info(`orcaops: build ${queued.id} of ${queued.image} queued`);
        const final = o.follow ? await followBuild(client, queued.id, json) : queued;
        render(outputOptions(c), final, { columns: BUILT_COLUMNS, items: () => [{ ...final, size: formatBytes(final.size_bytes ?? undefined) }] });
        if (final.status === 'failed') process.exitCode = 1;
      }),
    );
}

function deleteCommand(): Command {
  return new Command('delete')
    .description("Delete a workspace image build and remove its image from the engine")
    .argument('<build-id>', 'id from `images list --built`')
    .action(
      action(async (id: string) => {
        await new ApiClient().request('DELETE', `/v1/images/builds/${encodeURIComponent(id)}`);
      }),
    );
}

export function imagesCommand(): Command {
  return new Command('images')
    .description(
      'Standard images (orcaops/busybox, python, postgres, redis, node), built locally without a registry; workspace images built on the server (build-context); the image cache',
    )
    .addCommand(buildCommand())
    .addCommand(listCommand())
    .addCommand(buildContextCommand())
    .addCommand(deleteCommand())
    .addCommand(imagesCacheCommand());
}
