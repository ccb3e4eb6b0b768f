/**
 * Whole-workflow validation after loading (design §3.14): ids, `needs` targets with did-you-mean,
 * cycles printed as a full path, a root job, and every expression parsed and checked against the
 * contexts its position may read. All problems are reported; nothing stops at the first.
 */
import type { ExpressionSite } from 'src/workflows/engine/expression-sites';
import type { ExprNode } from 'src/workflows/engine/expressions';
import {
  ExpressionError,
  parseCondition,
  parseTemplate,
  referencedContexts,
  referencedNeeds,
  referencedSteps,
  usesStatusFunction,
} from 'src/workflows/engine/expressions';
import { checkIdentifier } from 'src/workflows/engine/load-steps';
import type { JobSpec, Workflow } from 'src/workflows/engine/model';
import type { YamlReader } from 'src/workflows/engine/yaml-reader';

export function validateWorkflow(workflow: Workflow, reader: YamlReader, sites: ExpressionSite[]): void {
  checkJobIds(workflow, reader);
  const jobIds = new Set(workflow.jobs.map((j) => j.id));
  for (const job of workflow.jobs) checkNeeds(job, jobIds, reader);
  for (const job of workflow.jobs) checkDownloads(job, reader);
  const cyclic = reportCycles(workflow, reader);
  if (!cyclic && workflow.jobs.length > 0 && !workflow.jobs.some((j) => j.needs.length === 0)) {
    reader.reportAt(
      'error',
      'no-root',
      'The workflow must contain at least one job with no dependencies.',
      'jobs',
    );
  }
  const jobsById = new Map(workflow.jobs.map((j) => [j.id, j]));
  for (const site of sites) checkSite(site, jobsById, reader);
}

function checkJobIds(workflow: Workflow, reader: YamlReader): void {
  const seen = new Map<string, string>();
  for (const job of workflow.jobs) {
    checkIdentifier(reader, job.id, `jobs.${job.id}`);
    const other = seen.get(job.id.toLowerCase());
    if (other !== undefined) {
      reader.reportAt(
        'warning',
        'job-id-case',
        `Job ids '${other}' and '${job.id}' differ only in case; they collide in container names`,
        `jobs.${job.id}`,
      );
    }
    seen.set(job.id.toLowerCase(), job.id);
  }
}

function checkNeeds(job: JobSpec, jobIds: ReadonlySet<string>, reader: YamlReader): void {
  const seen = new Set<string>();
  job.needs.forEach((need, i) => {
    const path = needPath(job, i, reader);
    if (seen.has(need))
      reader.reportAt(
        'warning',
        'duplicate-need',
        `Job '${job.id}' lists '${need}' in needs more than once`,
        path,
      );
    seen.add(need);
    if (need === job.id)
      reader.reportAt('error', 'self-need', `Job '${job.id}' cannot depend on itself`, path);
    else if (!jobIds.has(need))
      reader.reportAt('error', 'unknown-need', unknownNeedMessage(job.id, need, jobIds), path);
  });
  job.needs = [...seen].filter((n) => n !== job.id && jobIds.has(n));
}

/** `download: [job/artifact]` may only name direct needs (design §3.11). */
function checkDownloads(job: JobSpec, reader: YamlReader): void {
  job.download.forEach((entry, i) => {
    const source = entry.split('/')[0] ?? '';
    if (!job.needs.includes(source)) {
      reader.reportAt(
        'error',
        'bad-download',
        `Job '${job.id}' downloads from '${source}', which is not one of its needs`,
        `jobs.${job.id}.download[${i}]`,
      );
    }
  });
}

function needPath(job: JobSpec, index: number, reader: YamlReader): string {
  const base = reader.positions.has(`jobs.${job.id}.requires`)
    ? `jobs.${job.id}.requires`
    : `jobs.${job.id}.needs`;
  return reader.positions.has(`${base}[${index}]`) ? `${base}[${index}]` : base;
}

function unknownNeedMessage(jobId: string, need: string, jobIds: ReadonlySet<string>): string {
  const suggestion = closestName(need, [...jobIds]);
  const hint = suggestion ? ` Did you mean '${suggestion}'?` : '';
  return `Job '${jobId}' depends on unknown job '${need}'.${hint}`;
}

/** The candidate within a small edit distance (≤ 2, or a third of the name), if any. */
export function closestName(name: string, candidates: string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  const limit = Math.max(2, Math.floor(name.length / 3));
  return best && best.distance <= limit ? best.candidate : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

// ─── Cycles ─────────────────────────────────────────────────────────────────────────────────────────

/** Kahn's algorithm finds what cannot be ordered; a DFS then prints each cycle once. Returns true if any. */
function reportCycles(workflow: Workflow, reader: YamlReader): boolean {
  const remaining = unorderableJobs(workflow);
  if (remaining.size === 0) return false;
  const jobsById = new Map(workflow.jobs.map((j) => [j.id, j]));
  const reported = new Set<string>();
  for (const job of workflow.jobs) {
    if (!remaining.has(job.id) || reported.has(job.id)) continue;
    const cycle = findCycleFrom(job.id, jobsById);
    if (!cycle || cycle.some((id) => reported.has(id))) continue;
    cycle.forEach((id) => reported.add(id));
    const [first, second] = cycle;
    const firstJob = jobsById.get(first as string) as JobSpec;
    const path = needPath(firstJob, firstJob.needs.indexOf(second as string), reader);
    const message = `Job '${first}' depends on job '${second}' which creates a cycle in the dependency graph: ${[...cycle, first].join(' → ')}`;
    reader.reportAt('error', 'cycle', message, path);
  }
  return true;
}

function unorderableJobs(workflow: Workflow): Set<string> {
  const remaining = new Set(workflow.jobs.map((j) => j.id));
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const job of workflow.jobs) {
      if (remaining.has(job.id) && job.needs.every((n) => !remaining.has(n))) {
        remaining.delete(job.id);
        progressed = true;
      }
    }
  }
  return remaining;
}

/** A cycle through `start` as a list of ids (start first), following needs in YAML order. */
function findCycleFrom(start: string, jobsById: Map<string, JobSpec>): string[] | undefined {
  const path: string[] = [];
  const visited = new Set<string>();
  const walk = (id: string): string[] | undefined => {
    if (id === start && path.length > 0) return [...path];
    if (visited.has(id)) return undefined;
    visited.add(id);
    path.push(id);
    for (const need of jobsById.get(id)?.needs ?? []) {
      const found = walk(need);
      if (found) return found;
    }
    path.pop();
    return undefined;
  };
  return walk(start);
}

// ─── Expressions ────────────────────────────────────────────────────────────────────────────────────

function checkSite(site: ExpressionSite, jobsById: Map<string, JobSpec>, reader: YamlReader): void {
  let nodes: ExprNode[];
  try {
    nodes = siteExpressions(site, reader);
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return reader.reportAtOffset(
      'error',
      'bad-expression',
      `Invalid expression in '${site.path}': ${err.message}`,
      site.path,
      err.position,
    );
  }
  for (const node of nodes) checkNode(site, node, jobsById, reader);
  lintScriptInjection(site, reader);
}

/** `${{ github.event.* }}` pasted into a script is attacker-controlled text (design §2.4). */
function lintScriptInjection(site: ExpressionSite, reader: YamlReader): void {
  if (!/\.(run|commands\[\d+\])$/.test(site.path)) return;
  const sources = parseTemplate(site.text).flatMap((p) => (p.kind === 'expr' ? [p.source] : []));
  if (sources.some((source) => /\bgithub\s*\.\s*event\b/i.test(source))) {
    reader.reportAt(
      'warning',
      'script-injection',
      `'${site.path}' pastes github.event data into the script before it runs; pass it through 'env:' and use "$VAR" instead`,
      site.path,
    );
  }
}

function siteExpressions(site: ExpressionSite, reader: YamlReader): ExprNode[] {
  if (site.kind === 'template')
    return parseTemplate(site.text).flatMap((p) => (p.kind === 'expr' ? [p.node] : []));
  const condition = parseCondition(site.text);
  if (condition.alwaysTruthyConcatenation) {
    reader.reportAt(
      'warning',
      'always-true-if',
      `'${site.path}' mixes \${{ }} with other text, so it is a non-empty string and always true; wrap the whole condition in one \${{ }}`,
      site.path,
    );
    parseTemplate(site.text); // still report syntax errors in the parts
  }
  return [condition.node];
}

function checkNode(
  site: ExpressionSite,
  node: ExprNode,
  jobsById: Map<string, JobSpec>,
  reader: YamlReader,
): void {
  for (const ref of referencedContexts(node)) {
    if (!site.contexts.has(ref.name)) {
      reader.reportAt(
        'error',
        'bad-context',
        `Unrecognized named-value: '${ref.name}' in '${site.path}' (allowed here: ${[...site.contexts].join(', ')})`,
        site.path,
      );
    }
  }
  if (site.kind === 'template' && usesStatusFunction(node)) {
    reader.reportAt(
      'error',
      'bad-expression',
      `Status functions (success(), failure(), always(), cancelled()) are only allowed in 'if' (in '${site.path}')`,
      site.path,
    );
  }
  if (site.jobId !== undefined) checkNeedsReferences(site, node, jobsById, reader);
  if (site.jobId !== undefined) checkStepReferences(site, node, jobsById, reader);
}

/** `steps.<id>` must name a step of the same job that has that id (GitHub silently yields null). */
function checkStepReferences(
  site: ExpressionSite,
  node: ExprNode,
  jobsById: Map<string, JobSpec>,
  reader: YamlReader,
): void {
  const job = jobsById.get(site.jobId as string);
  if (!job) return;
  const ids = new Set(job.steps.filter((s) => !s.generatedId).map((s) => s.id));
  for (const id of referencedSteps(node)) {
    if (!ids.has(id)) {
      const suggestion = closestName(id, [...ids]);
      const hint = suggestion ? ` Did you mean '${suggestion}'?` : '';
      reader.reportAt(
        'warning',
        'unknown-step',
        `'${site.path}' reads steps.${id}, but job '${job.id}' has no step with id '${id}'.${hint}`,
        site.path,
      );
    }
  }
}

function checkNeedsReferences(
  site: ExpressionSite,
  node: ExprNode,
  jobsById: Map<string, JobSpec>,
  reader: YamlReader,
): void {
  const job = jobsById.get(site.jobId as string);
  if (!job) return;
  for (const ref of referencedNeeds(node)) {
    if (!job.needs.includes(ref.job)) {
      const why = jobsById.has(ref.job)
        ? `'${ref.job}' is not a direct dependency`
        : `there is no job '${ref.job}'`;
      reader.reportAt(
        'error',
        'bad-needs-ref',
        `'needs.${ref.job}' is not available in job '${job.id}': ${why}`,
        site.path,
      );
      continue;
    }
    const target = jobsById.get(ref.job);
    if (ref.output !== undefined && target && !(ref.output in target.outputs)) {
      reader.reportAt(
        'error',
        'unknown-output',
        `Job '${job.id}' reads needs.${ref.job}.outputs.${ref.output} but job '${ref.job}' declares no output '${ref.output}'`,
        site.path,
      );
    }
  }
}
