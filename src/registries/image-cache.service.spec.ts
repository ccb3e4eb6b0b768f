import type { ConfigType } from '@nestjs/config';
import type { DataSource } from 'typeorm';
import type { AuditService } from 'src/audit/audit.service';
import type { TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import type { PoliciesService } from 'src/policies/policies.service';
import type { ImagePullGrantEntity } from 'src/registries/entities/image-pull-grant.entity';
import type { imageCacheConfig } from 'src/registries/image-cache.config';
import { ImageCacheService, USE_WRITE_EVERY_MS } from 'src/registries/image-cache.service';
import { FakeRuntime } from 'src/runtime/fake/fake.runtime';
import type { TenantContext } from 'src/tenancy/tenant-context';

const MiB = 1024 * 1024;
const digest = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;

/** The cache service on the fake engine with grants in memory (the real queries are covered by the docker spec). */
function setup(budgetBytes?: number) {
  const engine = new FakeRuntime();
  const rows: ImagePullGrantEntity[] = [];
  const updates: Array<{ where: Partial<ImagePullGrantEntity>; patch: Partial<ImagePullGrantEntity> }> = [];
  const grants = {
    find: (workspaceId: string) => Promise.resolve(rows.filter((r) => r.workspaceId === workspaceId)),
    update: (_ws: string, where: Partial<ImagePullGrantEntity>, patch: Partial<ImagePullGrantEntity>) => {
      updates.push({ where, patch });
      return Promise.resolve(1);
    },
  } as unknown as TenantScopedRepository<ImagePullGrantEntity>;
  // The query asks for the grants of the digests on the engine (`digest: In([...])`).
  const dataSource = {
    getRepository: () => ({ find: (o: { where: { digest: { value: string[] } } }) => Promise.resolve(rows.filter((r) => o.where.digest.value.includes(r.digest))) }),
  } as unknown as DataSource;
  const audits: unknown[] = [];
  const audit = { record: (_ctx: unknown, r: unknown) => Promise.resolve(void audits.push(r)), recordSystem: (_ws: unknown, r: unknown) => Promise.resolve(void audits.push(r)) } as unknown as AuditService;
  const policies = { imagePolicy: () => Promise.resolve({}) } as unknown as PoliciesService;
  const config: ConfigType<typeof imageCacheConfig> = { budgetBytes, intervalMs: 60_000, graceMs: 10 * 60_000 };
  const service = new ImageCacheService(engine, dataSource, grants, audit, policies, config);
  /** An image workspace `ws` pulled from reg:5000 at `usedAt` (epoch ms). */
  const pulled = (name: string, n: number, usedAt: number, ws = 'ws-1') => {
    engine.addImage(`reg:5000/${name}:v1`, { sizeBytes: 10 * MiB, repoDigests: [`reg:5000/${name}@${digest(n)}`] });
    rows.push({ workspaceId: ws, repository: `reg:5000/${name}`, digest: digest(n), lastUsedAt: new Date(usedAt) } as ImagePullGrantEntity);
  };
  return { engine, service, pulled, updates, audits };
}

const ctx = { principal: { kind: 'admin', tokenId: 'admin' } } as unknown as TenantContext;

describe('ImageCacheService', () => {
  afterEach(() => jest.restoreAllMocks());

  it('records a use at most once a minute per workspace and image', async () => {
    const { service, updates } = setup();
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    await service.markUsed('ws-1', 'reg:5000/app', digest(1));
    await service.markUsed('ws-1', 'reg:5000/app', digest(1));
    await service.markUsed('ws-2', 'reg:5000/app', digest(1));
    expect(updates).toHaveLength(2);
    now += USE_WRITE_EVERY_MS - 1;
    await service.markUsed('ws-1', 'reg:5000/app', digest(1));
    expect(updates).toHaveLength(2);
    now += 1;
    await service.markUsed('ws-1', 'reg:5000/app', digest(1));
    expect(updates).toHaveLength(3);
    expect(updates[2]).toEqual({ where: { repository: 'reg:5000/app', digest: digest(1) }, patch: { lastUsedAt: new Date(now) } });
    // A new grant counts as a use: the next minute writes nothing.
    service.noteGranted('ws-1', 'reg:5000/new', digest(2));
    await service.markUsed('ws-1', 'reg:5000/new', digest(2));
    expect(updates).toHaveLength(3);
  });

  it('gc removes the least recently used images until the budget fits, never one a container uses, and audits it', async () => {
    const { engine, service, pulled, audits } = setup();
    pulled('oldest-in-use', 1, 1_000);
    pulled('older', 2, 2_000);
    pulled('newer', 3, 3_000);
    await engine.createContainer({
      name: 'c',
      image: 'reg:5000/oldest-in-use:v1',
      command: ['sleep', '1'],
      env: {},
      labels: { 'orcaops.kind': 'job' },
      resources: { cpus: 1, memoryBytes: 64 * MiB, pidsLimit: 32, tmpBytes: MiB, workspaceBytes: MiB, nofile: 256 },
      network: 'none',
    });
    const dry = await service.gc(ctx, { dryRun: true, budgetBytes: 25 * MiB });
    expect(dry.removed.map((i) => i.references[0])).toEqual(['reg:5000/older:v1']);
    expect(await engine.inspectImage('reg:5000/older:v1')).toBeDefined();
    expect(audits).toEqual([]);
    const done = await service.gc(ctx, { dryRun: false, budgetBytes: 25 * MiB });
    expect(done).toMatchObject({ totalBytesBefore: 30 * MiB, bytesFreed: 10 * MiB, totalBytesAfter: 20 * MiB, failed: [] });
    expect(await engine.inspectImage('reg:5000/older:v1')).toBeUndefined();
    expect(await engine.inspectImage('reg:5000/newer:v1')).toBeDefined();
    expect(audits).toEqual([expect.objectContaining({ action: 'image_cache.collected' })]);
    // Budget 0: everything removable goes; the image in use stays.
    await service.gc(ctx, { dryRun: false, budgetBytes: 0 });
    expect((await service.inventory()).map((i) => i.references[0])).toEqual(['reg:5000/oldest-in-use:v1']);
  });

  it('the periodic pass runs only with a budget and leaves recently used images', async () => {
    const now = Date.now();
    const unset = setup();
    unset.pulled('a', 1, now - 3_600_000);
    expect(await unset.service.tick()).toBeUndefined();
    const { service, pulled, engine } = setup(1);
    pulled('stale', 1, now - 3_600_000);
    pulled('fresh', 2, now - 1_000);
    const outcome = await service.tick();
    expect(outcome?.removed.map((i) => i.references[0])).toEqual(['reg:5000/stale:v1']);
    expect(await engine.inspectImage('reg:5000/fresh:v1')).toBeDefined();
  });

  it('discards a refused pull only when nobody holds a grant for it', async () => {
    const { engine, service, pulled } = setup();
    engine.addImage('reg:5000/refused:v1', { sizeBytes: MiB, repoDigests: [`reg:5000/refused@${digest(7)}`] });
    const refused = (await engine.inspectImage('reg:5000/refused:v1'))!;
    pulled('claimed', 8, 1_000);
    const claimed = (await engine.inspectImage('reg:5000/claimed:v1'))!;
    await service.discardUnclaimed(refused.id, 'reg:5000/refused');
    await service.discardUnclaimed(claimed.id, 'reg:5000/claimed');
    expect(await engine.inspectImage('reg:5000/refused:v1')).toBeUndefined();
    expect(await engine.inspectImage('reg:5000/claimed:v1')).toBeDefined();
  });
});
