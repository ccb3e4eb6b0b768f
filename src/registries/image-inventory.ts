import { STANDARD_IMAGES } from 'src/images/standard-images';
import type { ImageSummary } from 'src/runtime/container-runtime.port';
import { parseImageReference } from 'src/runtime/image-reference';

/** Labels of an image built from a Dockerfile for a workspace (`POST /v1/images/builds`). */
export const BUILD_KIND_LABEL = 'orcaops.image-kind';
export const BUILD_WORKSPACE_LABEL = 'orcaops.workspace';

/** A pull grant as the inventory needs it (image_pull_grants). */
export interface GrantRow {
  workspaceId: string;
  repository: string;
  digest: string;
  lastUsedAt: Date;
}

export type CachedImageKind = 'pulled' | 'built' | 'standard';
/** Why prune and the collector leave an image alone whatever its age. */
export type KeepReason = 'standard' | 'in_use' | 'foreign_reference';

/** An image on the engine that OrcaOps pulled or built (or a standard image, listed and never removed). */
export interface CachedImage {
  id: string;
  kind: CachedImageKind;
  /** Every name of the image on the engine (tags, then registry digests). */
  references: string[];
  /** The names OrcaOps made (a granted pull's tag and digest, a build's tags): what removal untags. */
  ownedReferences: string[];
  sizeBytes: number;
  createdAt: Date;
  /** The latest recorded use by any workspace; the creation time when none was recorded (built images). */
  lastUsedAt: Date;
  workspaces: Array<{ workspaceId: string; lastUsedAt: Date }>;
  containers: number;
  runningContainers: number;
  keep: KeepReason | null;
}

const STANDARD_REPOSITORIES = STANDARD_IMAGES.map((s) => repositoryOf(s.repository));

/**
 * The images OrcaOps is responsible for, from the engine's image list and the pull grants: `pulled` when a
 * registry digest of the image is granted to some workspace, `built` when it carries the build labels,
 * `standard` for the images `orcaops images build` makes. Every other image is not ours and is not listed.
 */
export function buildInventory(images: ImageSummary[], grants: GrantRow[]): CachedImage[] {
  const byDigest = new Map<string, GrantRow[]>();
  for (const g of grants) byDigest.set(`${g.repository}@${g.digest}`, [...(byDigest.get(`${g.repository}@${g.digest}`) ?? []), g]);
  return images.flatMap((image) => {
    const entry = classify(image, byDigest);
    return entry ? [entry] : [];
  });
}

function classify(image: ImageSummary, byDigest: Map<string, GrantRow[]>): CachedImage | undefined {
  const references = [...image.tags, ...image.repoDigests];
  const createdAt = new Date(image.createdAt);
  const base = { id: image.id, references, sizeBytes: image.sizeBytes, createdAt, containers: image.containers, runningContainers: image.runningContainers };
  // By name, not by the recipe label: an image built FROM a standard image inherits its labels.
  const standard = image.tags.some((t) => STANDARD_REPOSITORIES.includes(repositoryOf(t)));
  if (standard) return { ...base, kind: 'standard', ownedReferences: [], lastUsedAt: createdAt, workspaces: [], keep: 'standard' };
  const builtFor = image.labels[BUILD_KIND_LABEL] === 'build' ? image.labels[BUILD_WORKSPACE_LABEL] : undefined;
  if (builtFor) {
    return { ...base, kind: 'built', ownedReferences: references, lastUsedAt: createdAt, workspaces: [{ workspaceId: builtFor, lastUsedAt: createdAt }], keep: inUse(image) };
  }
  const granted = image.repoDigests.flatMap((d) => byDigest.get(canonicalDigest(d)) ?? []);
  if (!granted.length) return undefined;
  const repositories = new Set(granted.map((g) => g.repository));
  const ownedReferences = [
    ...image.tags.filter((t) => repositories.has(repositoryOf(t))),
    ...image.repoDigests.filter((d) => byDigest.has(canonicalDigest(d))),
  ];
  const workspaces = [...new Map(granted.map((g) => [g.workspaceId, g])).values()]
    .map((g) => ({ workspaceId: g.workspaceId, lastUsedAt: latest(granted.filter((o) => o.workspaceId === g.workspaceId).map((o) => o.lastUsedAt)) }))
    .sort((a, b) => a.workspaceId.localeCompare(b.workspaceId));
  const foreign = ownedReferences.length < references.length;
  return {
    ...base,
    kind: 'pulled',
    ownedReferences,
    lastUsedAt: latest(granted.map((g) => g.lastUsedAt)),
    workspaces,
    keep: foreign ? 'foreign_reference' : inUse(image),
  };
}

/** What a prune or collector pass removed (or, dry, would remove). */
export interface RemovalOutcome {
  removed: CachedImage[];
  failed: Array<{ image: CachedImage; error: string }>;
  bytesFreed: number;
  totalBytesBefore: number;
  totalBytesAfter: number;
}

/** Images prune removes: ours, not kept, and (with `unusedForMs`) unused for at least that long. */
export function pruneCandidates(inventory: CachedImage[], now: number, unusedForMs?: number): CachedImage[] {
  return inventory.filter((i) => i.keep === null && (unusedForMs === undefined || now - i.lastUsedAt.getTime() >= unusedForMs));
}

/** Bytes the budget counts: every pulled and built image, removable or not (standard images are not counted). */
export function cachedBytes(inventory: CachedImage[]): number {
  return inventory.filter((i) => i.kind !== 'standard').reduce((sum, i) => sum + i.sizeBytes, 0);
}

/**
 * The least recently used removable images to remove until the cached bytes fit `budgetBytes` (the
 * fewest that suffice, oldest use first); images used within `graceMs` stay (a run that just resolved
 * one may not have created its container yet).
 */
export function gcPlan(inventory: CachedImage[], budgetBytes: number, now: number, graceMs = 0): CachedImage[] {
  let total = cachedBytes(inventory);
  const plan: CachedImage[] = [];
  const candidates = pruneCandidates(inventory, now)
    .filter((i) => now - i.lastUsedAt.getTime() >= graceMs)
    .sort((a, b) => a.lastUsedAt.getTime() - b.lastUsedAt.getTime() || a.id.localeCompare(b.id));
  for (const image of candidates) {
    if (total <= budgetBytes) break;
    plan.push(image);
    total -= image.sizeBytes;
  }
  return plan;
}

/** Tags first: removing a repository's last tag also drops its digest names, so those are usually gone already. */
export function removalOrder(image: CachedImage): string[] {
  return [...image.ownedReferences].sort((a, b) => Number(a.includes('@')) - Number(b.includes('@')));
}

function inUse(image: ImageSummary): KeepReason | null {
  return image.containers > 0 ? 'in_use' : null;
}

function latest(dates: Date[]): Date {
  return new Date(Math.max(...dates.map((d) => d.getTime())));
}

/** `registry/path` of a tag or digest name as the engine lists it; '' for one that does not parse. */
export function repositoryOf(reference: string): string {
  try {
    return parseImageReference(reference).repository;
  } catch {
    return '';
  }
}

/** `registry/path@sha256:…` of a digest name as the engine lists it (`python@sha256:…` → docker.io/library/python@…). */
export function canonicalDigest(reference: string): string {
  try {
    const ref = parseImageReference(reference);
    return ref.digest ? `${ref.repository}@${ref.digest}` : '';
  } catch {
    return '';
  }
}
