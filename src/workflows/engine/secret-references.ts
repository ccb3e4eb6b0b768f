import type { JobSpec } from 'src/workflows/engine/model';

// `secrets.NAME` or `secrets['NAME']` inside the job's steps and outputs (context names are case-insensitive, as on GitHub).
const REFERENCE = /\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*'([A-Za-z_][A-Za-z0-9_]*)'\s*\])/gi;

/**
 * The secret names a workflow job's steps and outputs refer to, upper-cased (secret names are), sorted.
 * The runner opens only these for the job, and masks them in its output.
 */
export function secretReferences(job: Pick<JobSpec, 'steps' | 'outputs'>): string[] {
  const text = JSON.stringify([job.steps.map((s) => ({ run: s.action, env: s.env, name: s.name, if: s.if })), job.outputs]);
  const names = new Set<string>();
  for (const match of text.matchAll(REFERENCE)) names.add((match[1] ?? match[2]!).toUpperCase());
  return [...names].sort();
}
