import { createHash } from 'node:crypto';
import { canonicalJson } from 'src/jobs/records/run-fingerprint';
import type { Workflow } from 'src/workflows/engine/model';

/**
 * The key that groups runs of "the same workflow" (docs/run-records.md#workflow-runs): sha256 of the
 * canonical JSON of the normalised workflow (so YAML layout, comments and key order do not count) and of
 * the uploaded source archive's sha256 when the run has one. Left out: the file name and the workflow's
 * name (labels), source positions, and the run's inputs and env overrides (parameters of a run, like a job's env values).
 */
export function workflowFingerprint(workflow: Workflow, sourceSha256?: string | null): string {
  const { file: _file, name: _name, ...rest } = workflow;
  return createHash('sha256')
    .update(canonicalJson({ workflow: withoutLocations(rest), source_sha256: sourceSha256 ?? null }))
    .digest('hex');
}

const isLocation = (v: unknown): boolean => !!v && typeof v === 'object' && 'line' in v && 'column' in v && Object.keys(v).length === 2;

/** The model without its diagnostics positions (`loc: {line, column}`): where a step sits in the file is layout. */
function withoutLocations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutLocations);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k, v]) => !(k === 'loc' && isLocation(v))).map(([k, v]) => [k, withoutLocations(v)]));
  }
  return value;
}
