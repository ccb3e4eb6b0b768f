/**
 * Registry pull benchmark (issue 13): pulling orcaops/python (~160 MB) from a local registry through
 * OrcaOps' ImagePuller (policy, local inspect, single-flight, progress folding, digest and grant, on the
 * real DockerRuntime) against a raw engine pull (POST /images/create, what `docker pull` does), in the
 * same run, alternating which goes first. Every layer of orcaops/python is already on the engine (it is
 * built here), so the image is flattened into one fresh layer (export → import) and pushed to a Debian
 * docker-registry on loopback; each pull then really downloads and extracts ~160 MB, and is removed
 * before the next. Tenancy lookups are stubs (no Postgres: this measures the pull path, as bench:egress
 * measures the gateway). Usage: npm run bench:pull -- [runs]
 */
import type { Readable } from 'node:stream';
import type { PoliciesService } from 'src/policies/policies.service';
import type { ImageCacheService } from 'src/registries/image-cache.service';
import { ImagePuller } from 'src/registries/image-puller.service';
import type { RegistryCredentialsService } from 'src/registries/registry-credentials.service';
import type { ImagePullGrantEntity } from 'src/registries/entities/image-pull-grant.entity';
import type { TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { DockerRuntime } from 'src/runtime/docker/docker.runtime';
import { LocalRegistry } from '../test/support/local-registry';
import { docker } from './support/raw-docker';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** orcaops/python as one layer the engine does not have, pushed as `repository:tag`; the local copy is removed. */
async function pushFlattenedPython(registry: LocalRegistry, repository: string, tag: string): Promise<void> {
  const container = await docker.createContainer({ Image: 'orcaops/python', Cmd: ['true'], Labels: { 'orcaops.bench': 'registry-pull' } });
  const local = `orcaops-bench/python-flat:${Date.now()}`;
  try {
    const exported = (await container.export()) as unknown as Readable;
    const [repo, localTag] = local.split(':') as [string, string];
    const stream = (await docker.importImage(exported, { repo, tag: localTag })) as unknown as Readable;
    await new Promise((resolve, reject) => docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve(undefined))));
    await registry.push(local, repository, tag);
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
    await docker.getImage(local).remove({ force: true }).catch(() => undefined);
  }
}

async function rawPull(reference: string): Promise<void> {
  const stream = await docker.pull(reference);
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null, events: Array<{ error?: string }>) => {
      const failed = events?.find((e) => e.error);
      return error || failed ? reject(error ?? new Error(failed!.error)) : resolve(undefined);
    }),
  );
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  const registry = await LocalRegistry.start();
  const reference = `${registry.host}/bench/python:v1`;
  const remove = (): Promise<unknown> => docker.getImage(reference).remove({ force: true }).catch(() => undefined);
  const grants = { findOne: () => Promise.resolve(null), insert: () => Promise.resolve(undefined) } as unknown as TenantScopedRepository<ImagePullGrantEntity>;
  const credentials = { authFor: () => Promise.resolve(undefined) } as unknown as RegistryCredentialsService;
  const policies = {
    imagePolicy: () => Promise.resolve({ allow: [], deny: [], require_digest: false, outside_allow: 'deny', registries: [['127.0.0.1:*']], pull_approval: false }),
  } as unknown as PoliciesService;
  // No max_cache_mb in the policy: the cache is only told about grants (in memory) and uses.
  const cache = { markUsed: () => Promise.resolve(), noteGranted: () => undefined } as unknown as ImageCacheService;
  const puller = new ImagePuller(new DockerRuntime(process.env.ORCAOPS_DOCKER_SOCKET ?? '/var/run/docker.sock'), grants, credentials, policies, cache);
  try {
    await pushFlattenedPython(registry, 'bench/python', 'v1');
    const raw: number[] = [];
    const orca: number[] = [];
    let lines = 0;
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? ['raw', 'orca'] : ['orca', 'raw'];
      for (const side of order) {
        await remove();
        if (side === 'raw') raw.push(await timed(() => rawPull(reference)));
        else orca.push(await timed(() => puller.ensure('bench', reference, { onLine: () => (lines += 1) })));
      }
      console.log(`run ${i + 1}: raw ${raw[i]!.toFixed(0)} ms, OrcaOps ${orca[i]!.toFixed(0)} ms`);
    }
    await remove();
    const size = await docker.getImage('orcaops/python').inspect();
    console.log(`orcaops/python ${(size.Size / 1024 / 1024).toFixed(0)} MiB (flattened to one layer), ${runs} runs, ${lines} progress lines`);
    console.log(`median raw engine pull ${median(raw).toFixed(0)} ms, through OrcaOps ${median(orca).toFixed(0)} ms, ratio ${(median(orca) / median(raw)).toFixed(3)}x (target <= 1.1x)`);
  } finally {
    await remove();
    await registry.close();
  }
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
