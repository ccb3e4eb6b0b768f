import type { ImageSummary } from 'src/runtime/container-runtime.port';
import type { GrantRow } from 'src/registries/image-inventory';
import { buildInventory, cachedBytes, gcPlan, pruneCandidates, removalOrder } from 'src/registries/image-inventory';

const D = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const at = (ms: number): Date => new Date(ms);

function image(id: string, over: Partial<ImageSummary> = {}): ImageSummary {
  return { id, tags: [], repoDigests: [], sizeBytes: 100, createdAt: 1_000, labels: {}, containers: 0, runningContainers: 0, ...over };
}

function grant(workspaceId: string, repository: string, digest: string, lastUsedAt: number): GrantRow {
  return { workspaceId, repository, digest, lastUsedAt: at(lastUsedAt) };
}

describe('image inventory', () => {
  const pulledA = image('sha256:a', { tags: ['reg:5000/app:v1'], repoDigests: [`reg:5000/app@${D(1)}`] });
  const pulledB = image('sha256:b', { tags: ['python:3.12'], repoDigests: [`python@${D(2)}`], sizeBytes: 300 });
  const standard = image('sha256:s', { tags: ['orcaops/busybox:latest'], repoDigests: [`reg:5000/tools/busybox@${D(3)}`], labels: { 'org.orcaops.recipe-revision': '2' } });
  const foreign = image('sha256:f', { tags: ['someone/else:1'] });
  // Built FROM orcaops/busybox (inherits its recipe label) and pulled: not a standard image.
  const derived = image('sha256:d', { tags: ['reg:5000/derived:v1'], repoDigests: [`reg:5000/derived@${D(5)}`], labels: { 'org.orcaops.recipe-revision': '2' } });
  const built = image('sha256:w', { tags: ['orcaops-ws/app:1'], labels: { 'orcaops.image-kind': 'build', 'orcaops.workspace': 'ws-2' }, createdAt: 5_000 });
  const retagged = image('sha256:t', { tags: ['reg:5000/lib:v1', 'mine/copy:1'], repoDigests: [`reg:5000/lib@${D(4)}`] });
  const grants = [
    grant('ws-1', 'reg:5000/app', D(1), 2_000),
    grant('ws-2', 'reg:5000/app', D(1), 7_000),
    grant('ws-1', 'docker.io/library/python', D(2), 3_000),
    // A grant for a standard image's digest (it was pushed, then pulled by that name) does not make it removable.
    grant('ws-1', 'reg:5000/tools/busybox', D(3), 9_000),
    grant('ws-1', 'reg:5000/lib', D(4), 1_500),
  ];
  const inventory = buildInventory([pulledA, pulledB, standard, foreign, built, retagged], grants);
  const byId = (id: string) => inventory.find((i) => i.id === id);

  it('names standard images by their tag, not by the recipe label images built from them inherit', () => {
    const [entry] = buildInventory([derived], [grant('ws-1', 'reg:5000/derived', D(5), 1_000)]);
    expect(entry).toMatchObject({ kind: 'pulled', keep: null });
  });

  it('lists pulled (granted digests, Docker Hub short names normalised), built and standard images, and nothing else', () => {
    expect(inventory.map((i) => [i.id, i.kind])).toEqual([
      ['sha256:a', 'pulled'],
      ['sha256:b', 'pulled'],
      ['sha256:s', 'standard'],
      ['sha256:w', 'built'],
      ['sha256:t', 'pulled'],
    ]);
  });

  it('keeps the latest use of every workspace, and the latest overall', () => {
    expect(byId('sha256:a')).toMatchObject({
      lastUsedAt: at(7_000),
      workspaces: [
        { workspaceId: 'ws-1', lastUsedAt: at(2_000) },
        { workspaceId: 'ws-2', lastUsedAt: at(7_000) },
      ],
      keep: null,
    });
    expect(byId('sha256:w')).toMatchObject({ lastUsedAt: at(5_000), workspaces: [{ workspaceId: 'ws-2' }] });
  });

  it('keeps standard images, images a container uses and images with a name OrcaOps did not make', () => {
    expect(byId('sha256:s')?.keep).toBe('standard');
    expect(byId('sha256:t')).toMatchObject({ keep: 'foreign_reference', ownedReferences: ['reg:5000/lib:v1', `reg:5000/lib@${D(4)}`] });
    const used = buildInventory([{ ...pulledA, containers: 1 }], grants);
    expect(used[0]?.keep).toBe('in_use');
  });

  it('prunes what is not kept, optionally only images unused for long enough', () => {
    expect(pruneCandidates(inventory, 10_000).map((i) => i.id)).toEqual(['sha256:a', 'sha256:b', 'sha256:w']);
    expect(pruneCandidates(inventory, 10_000, 4_000).map((i) => i.id)).toEqual(['sha256:b', 'sha256:w']);
  });

  it('collects least recently used first, only as much as the budget needs, and never a kept image', () => {
    // Counted: a 100 + b 300 + w 100 + t 100 (kept, still counted) = 600; standard images are not counted.
    expect(cachedBytes(inventory)).toBe(600);
    expect(gcPlan(inventory, 600, 10_000)).toEqual([]);
    expect(gcPlan(inventory, 599, 10_000).map((i) => i.id)).toEqual(['sha256:b']);
    expect(gcPlan(inventory, 150, 10_000).map((i) => i.id)).toEqual(['sha256:b', 'sha256:w', 'sha256:a']);
    expect(gcPlan(inventory, 0, 10_000).map((i) => i.id)).not.toContain('sha256:t');
    // Within the grace period an image stays whatever the budget.
    expect(gcPlan(inventory, 0, 10_000, 4_000).map((i) => i.id)).toEqual(['sha256:b', 'sha256:w']);
  });

  it('untags names before digests', () => {
    expect(removalOrder(byId('sha256:a')!)).toEqual(['reg:5000/app:v1', `reg:5000/app@${D(1)}`]);
  });
});
