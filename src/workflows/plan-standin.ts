/**
 * STAND-IN for the core's dry-run plan() (model.ts `Plan`); swap the import in workflows.service.ts
 * once src/workflows/engine exports it. Uses the core's expansion for static matrices.
 */
import { expandJob, ExpansionError, hasStaticStrategy, planContexts } from 'src/workflows/engine/instances';
import type { Plan, PlannedJob, RunContext, Workflow } from 'src/workflows/engine/model';

export function planWorkflow(workflow: Workflow, context: RunContext): Plan {
  const jobs: PlannedJob[] = workflow.jobs.map((job) => {
    const planned: PlannedJob = { id: job.id, name: job.name ?? job.id, needs: job.needs, expansion: hasStaticStrategy(job) ? 'static' : 'dynamic', instances: [], steps: job.steps.length };
    if (job.unsupportedRunner) return { ...planned, skippedReason: `runs on '${job.unsupportedRunner}', which has no Linux image mapping` };
    if (planned.expansion === 'dynamic') return planned;
    try {
      const expanded = expandJob(job, { contexts: { ...planContexts(context.github, context.inputs, context.vars), env: context.env }, platforms: context.platforms, defaultImage: context.defaultImage });
      planned.instances = expanded.instances.map((i) => ({ key: i.key, displayName: i.displayName, matrix: i.matrix, ...(i.image ? { image: i.image } : {}) }));
    } catch (error) {
      if (!(error instanceof ExpansionError)) throw error;
      planned.skippedReason = error.message;
    }
    return planned;
  });
  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < workflow.jobs.length) {
    const next = workflow.jobs.find((j) => !done.has(j.id) && j.needs.every((n) => done.has(n)));
    if (!next) break;
    order.push(next.id);
    done.add(next.id);
  }
  return { name: workflow.name, jobs, order, staticInstanceCount: jobs.reduce((n, j) => n + j.instances.length, 0) };
}
