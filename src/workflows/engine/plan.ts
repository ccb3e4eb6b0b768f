/**
 * Dry-run plan (design: REST `dry_run`, CLI `--dry-run`): jobs, their instances where the matrix is
 * static, display names, and a valid order. Dynamic matrices are marked as expanding at run time.
 */
import type { ExpandedJob } from 'src/workflows/engine/instances';
import { ExpansionError, expandJob, hasStaticStrategy, planContexts } from 'src/workflows/engine/instances';
import type { JobSpec, JsonObject, Plan, PlannedJob, Workflow } from 'src/workflows/engine/model';

export interface PlanOptions {
  platforms?: Record<string, string>;
  defaultImage?: string;
  github?: JsonObject;
  inputs?: JsonObject;
  vars?: JsonObject;
}

export const DEFAULT_PLAN_IMAGE = 'ubuntu:24.04';

export function plan(workflow: Workflow, options: PlanOptions = {}): Plan {
  const jobs = workflow.jobs.map((job) => planJob(job, workflow, options));
  return {
    name: workflow.name,
    jobs,
    order: topologicalOrder(workflow),
    staticInstanceCount: jobs.reduce((n, j) => n + j.instances.length, 0),
  };
}

function planJob(job: JobSpec, workflow: Workflow, options: PlanOptions): PlannedJob {
  const planned: PlannedJob = {
    id: job.id,
    name: job.name ?? job.id,
    needs: job.needs,
    expansion: hasStaticStrategy(job) ? 'static' : 'dynamic',
    instances: [],
    steps: job.steps.length,
  };
  if (job.unsupportedRunner)
    planned.skippedReason = `runs on '${job.unsupportedRunner}', which has no Linux image mapping`;
  if (planned.expansion === 'dynamic') return planned;
  const expanded = tryExpand(job, workflow, options);
  if (expanded instanceof ExpansionError) {
    planned.skippedReason = expanded.message;
    return planned;
  }
  planned.instances = expanded.instances.map((i) => {
    const instance = { key: i.key, displayName: i.displayName, matrix: i.matrix };
    return i.image === undefined ? instance : { ...instance, image: i.image };
  });
  const unsupported = expanded.instances.find((i) => i.unsupportedRunner)?.unsupportedRunner;
  if (unsupported && !planned.skippedReason)
    planned.skippedReason = `runs on '${unsupported}', which has no Linux image mapping`;
  return planned;
}

function tryExpand(job: JobSpec, workflow: Workflow, options: PlanOptions): ExpandedJob | ExpansionError {
  try {
    return expandJob(job, {
      contexts: planContexts(options.github, options.inputs, options.vars),
      platforms: { ...workflow.platforms, ...options.platforms },
      defaultImage: options.defaultImage ?? DEFAULT_PLAN_IMAGE,
    });
  } catch (err) {
    if (err instanceof ExpansionError) return err;
    throw err;
  }
}

/** Kahn's algorithm; among ready jobs, YAML order first. Assumes a validated (acyclic) workflow. */
export function topologicalOrder(workflow: Workflow): string[] {
  const placed = new Set<string>();
  const order: string[] = [];
  while (order.length < workflow.jobs.length) {
    const next = workflow.jobs.find((j) => !placed.has(j.id) && j.needs.every((n) => placed.has(n)));
    if (!next) break;
    placed.add(next.id);
    order.push(next.id);
  }
  return order;
}
