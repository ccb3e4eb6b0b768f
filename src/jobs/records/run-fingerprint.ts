import { createHash } from 'node:crypto';
import type { JobSpec } from 'src/jobs/job-model';

/**
 * The key that groups runs of "the same thing" (docs/run-records.md#fingerprint): sha256 of the
 * canonical JSON of what decides what a run does — image, steps, resources, network. Left out on
 * purpose: env values (secrets; a hash of a short secret can be confirmed by guessing), step names,
 * timeouts, artifacts and cleanup policy (they do not change what the code does).
 */
export function runFingerprint(spec: Pick<JobSpec, 'image' | 'steps' | 'resources' | 'network'>): string {
  const normalised = {
    image: normaliseImage(spec.image),
    steps: spec.steps.map((s) => ({
      // A shell command and the same argv run by hand are different runs; trailing blanks are not.
      run: s.args ? { args: s.args } : { command: (s.command ?? '').trim() },
      cwd: s.cwd ?? '/workspace',
      env_keys: Object.keys(s.env ?? {}).sort(),
    })),
    resources: { cpu: spec.resources.cpu, memory_mb: spec.resources.memory_mb, pids: spec.resources.pids, disk_mb: spec.resources.disk_mb },
    network: spec.network,
  };
  return createHash('sha256').update(canonicalJson(normalised)).digest('hex');
}

/** `python` and `python:latest` are one image; a digest reference is kept as given. */
export function normaliseImage(image: string): string {
  const ref = image.trim().toLowerCase();
  if (ref.includes('@')) return ref;
  const lastSlash = ref.lastIndexOf('/');
  return ref.slice(lastSlash + 1).includes(':') ? ref : `${ref}:latest`;
}

/** JSON with object keys sorted at every level, so key order never changes the hash. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
