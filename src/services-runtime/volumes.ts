/**
 * The volumes of one instance attempt and who mounts what (design §2.6; docs/workflows.md, Services):
 * as in docker compose, a named volume exists once per instance and is shared by name between the job
 * container (`container.volumes`) and its services; an anonymous `/path` is private to the container
 * that declares it. Pure: the runner names the volumes, creates them before the containers that mount
 * them, and removes them with the instance.
 */
import type { OptionsTarget } from 'src/services-runtime/container-options';
import { parseVolumeSpec } from 'src/services-runtime/container-options';

/** The job container or one service, with its `volumes:` entries as evaluated. */
export interface VolumeMounter {
  kind: 'job' | 'service';
  /** The service id (the job's id for the job container; used in messages only). */
  id: string;
  entries: string[];
  /** The container's memory limit: tmpfs pages count against the memory of the container that writes them. */
  memoryBytes: number;
}

export interface PlannedVolume {
  /** Unique within the instance: `vol-<name>`, `anon-job-<n>-<path>`, `anon-svc-<id>-<n>-<path>`. */
  key: string;
  /** As written in the workflow; absent for an anonymous volume. */
  name?: string;
  /** The largest memory limit of the containers that mount it: no container could fill more. */
  sizeBytes: number;
  /** The job container mounts it: its root directory belongs to the job's non-root user. */
  mountedByJob: boolean;
  /** `job`, `service db`: for messages. */
  mountedBy: string[];
}

export interface PlannedMount {
  /** PlannedVolume.key. */
  volume: string;
  target: string;
  readOnly: boolean;
}

export interface VolumePlan {
  volumes: PlannedVolume[];
  job: PlannedMount[];
  /** service id → its mounts. */
  services: Record<string, PlannedMount[]>;
}

function who(mounter: VolumeMounter): string {
  return mounter.kind === 'job' ? 'job' : `service ${mounter.id}`;
}

function anonymousKey(mounter: VolumeMounter, index: number, target: string): string {
  const owner = mounter.kind === 'job' ? 'job' : `svc-${mounter.id}`;
  return `anon-${owner}-${index + 1}${target.replace(/[^A-Za-z0-9]+/g, '-')}`;
}

/**
 * Plans every volume of the instance. Errors name the container and the entry: an entry that does not
 * parse (host bind mounts included), or two volumes at one path of the same container.
 */
export function planVolumes(mounters: VolumeMounter[]): { plan: VolumePlan; errors: string[] } {
  const plan: VolumePlan = { volumes: [], job: [], services: {} };
  const byKey = new Map<string, PlannedVolume>();
  const errors: string[] = [];
  for (const mounter of mounters) {
    const target: OptionsTarget = mounter.kind === 'job' ? 'container' : 'service';
    const mounts: PlannedMount[] = [];
    const problems: string[] = [];
    mounter.entries.forEach((entry, index) => {
      const spec = parseVolumeSpec(entry, target);
      if ('error' in spec) return void problems.push(spec.error);
      if (mounts.some((m) => m.target === spec.target)) return void problems.push(`Volume '${entry}': ${spec.target} is mounted twice`);
      const key = spec.anonymous ? anonymousKey(mounter, index, spec.target) : `vol-${spec.name}`;
      let volume = byKey.get(key);
      if (!volume) {
        volume = { key, ...(spec.anonymous ? {} : { name: spec.name }), sizeBytes: 0, mountedByJob: false, mountedBy: [] };
        byKey.set(key, volume);
        plan.volumes.push(volume);
      }
      volume.sizeBytes = Math.max(volume.sizeBytes, mounter.memoryBytes);
      volume.mountedByJob ||= mounter.kind === 'job';
      if (!volume.mountedBy.includes(who(mounter))) volume.mountedBy.push(who(mounter));
      mounts.push({ volume: key, target: spec.target, readOnly: spec.readOnly });
    });
    if (problems.length) errors.push(`${mounter.kind === 'job' ? 'container volumes' : `service ${mounter.id} volumes`}: ${problems.join('; ')}`);
    if (mounter.kind === 'job') plan.job = mounts;
    else plan.services[mounter.id] = mounts;
  }
  return { plan, errors };
}
