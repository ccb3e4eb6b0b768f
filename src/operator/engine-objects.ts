import { HOME_LABEL, HOST_LABEL } from 'src/runtime/container-runtime.port';

// What the operator sees of the engine (issue 20 item 4): every object OrcaOps labelled, with its kind,
// workspace, age and whether it is an orphan. Pure: the facts (records, live pool owners, data
// directories) are gathered by EngineAdminService and passed in.

export type EngineObjectType = 'container' | 'volume' | 'network';

export type OrphanReason =
  /** Its job, sandbox or workflow run no longer exists in this installation's database. */
  | 'record_gone'
  /** Its sandbox ended (stopped, expired, failed, lost): the container should be gone with it. */
  | 'record_ended'
  /** A warm-pool container whose server no longer runs. */
  | 'pool_owner_gone'
  /** Another installation on this host whose data directory no longer exists. */
  | 'installation_gone';

export interface EngineObject {
  type: EngineObjectType;
  /** Container id; the name of a volume or network. */
  id: string;
  name: string;
  /** job, sandbox, pool, workflow_service, workflow_pod, workflow_network, workflow_volume, egress, other. */
  kind: string;
  /** Containers only. */
  status: string | null;
  workspaceId: string | null;
  installationId: string | null;
  /** Of the installation answering (false for another installation's objects, null when unlabelled). */
  thisInstallation: boolean | null;
  createdAt: string | null;
  ageSeconds: number | null;
  orphan: boolean;
  orphanReason: OrphanReason | null;
  labels: Record<string, string>;
}

export interface RawEngineObject {
  type: EngineObjectType;
  id: string;
  name: string;
  status?: string;
  labels: Record<string, string>;
  createdAt?: string;
}

/** What the database and the host say about the objects' owners. */
export interface OrphanFacts {
  installationId: string;
  hostname: string;
  /** Ids (jobs, sandboxes, workflow runs) that still have a record. */
  existing: ReadonlySet<string>;
  /** Sandboxes whose record is in a terminal status. */
  endedSandboxes: ReadonlySet<string>;
  /** Pool owners (server ids) known to be gone. */
  goneOwners: ReadonlySet<string>;
  /** Whether a data directory exists on this host. */
  homeExists(path: string): boolean;
}

/** The record ids an object points at, to look up before judging it. */
export function recordRefs(labels: Record<string, string>): { jobs: string[]; sandboxes: string[]; runs: string[] } {
  const one = (key: string): string[] => (labels[key] ? [labels[key]] : []);
  return { jobs: one('orcaops.job_id'), sandboxes: one('orcaops.sandbox_id'), runs: one('orcaops.workflow_run') };
}

export function kindOf(object: RawEngineObject): string {
  const { labels } = object;
  if (labels['orcaops.kind']) return labels['orcaops.kind'];
  if (labels['orcaops.role'] === 'network') return 'workflow_network';
  if (labels['orcaops.role'] === 'volume') return 'workflow_volume';
  // The shared egress network carries only orcaops.managed: it belongs to every installation on the engine.
  if (object.type === 'network' && labels['orcaops.install'] === undefined) return 'egress';
  return 'other';
}

/** Why the object is an orphan, or null. Unknown or shared objects are never orphans: gc leaves them be. */
export function orphanReason(object: RawEngineObject, facts: OrphanFacts): OrphanReason | null {
  const { labels } = object;
  const install = labels['orcaops.install'];
  if (install === undefined) return null;
  if (install !== facts.installationId) return foreignInstallationGone(labels, facts) ? 'installation_gone' : null;
  if (labels['orcaops.kind'] === 'pool') {
    const owner = labels['orcaops.pool_owner'];
    return owner !== undefined && facts.goneOwners.has(owner) ? 'pool_owner_gone' : null;
  }
  const refs = recordRefs(labels);
  const ids = [...refs.jobs, ...refs.sandboxes, ...refs.runs];
  if (ids.some((id) => !facts.existing.has(id))) return 'record_gone';
  if (refs.sandboxes.some((id) => facts.endedSandboxes.has(id))) return 'record_ended';
  return null;
}

/**
 * Only judged on the host that created it (a data directory path means nothing elsewhere, e.g. a
 * server in a container sharing the engine): the directory it named is gone.
 */
function foreignInstallationGone(labels: Record<string, string>, facts: OrphanFacts): boolean {
  const home = labels[HOME_LABEL];
  if (!home || labels[HOST_LABEL] !== facts.hostname) return false;
  return !facts.homeExists(home);
}

export function describeObject(object: RawEngineObject, facts: OrphanFacts, now: number): EngineObject {
  const { labels } = object;
  const install = labels['orcaops.install'] ?? null;
  const created = object.createdAt ? Date.parse(object.createdAt) : NaN;
  const reason = orphanReason(object, facts);
  return {
    type: object.type,
    id: object.id,
    name: object.name,
    kind: kindOf(object),
    status: object.status ?? null,
    workspaceId: labels['orcaops.workspace_id'] ?? null,
    installationId: install,
    thisInstallation: install === null ? null : install === facts.installationId,
    createdAt: Number.isFinite(created) ? new Date(created).toISOString() : null,
    ageSeconds: Number.isFinite(created) ? Math.max(0, Math.floor((now - created) / 1000)) : null,
    orphan: reason !== null,
    orphanReason: reason,
    labels: { ...labels },
  };
}

/** Removal order for gc: containers first (they hold volumes and networks), then volumes, then networks. */
export const GC_ORDER: readonly EngineObjectType[] = ['container', 'volume', 'network'];
