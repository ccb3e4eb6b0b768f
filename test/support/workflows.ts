import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { WorkflowsService } from 'src/workflows/workflows.service';
import { docker, installationId } from './docker';
import { api } from './http';

/** Submits a workflow and returns the run (201) or throws with the response. */
export async function submitWorkflow(app: NestFastifyApplication, token: string, yaml: string, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await api(app, 'POST', '/v1/workflows', { token, body: { yaml, ...extra } });
  if (res.status !== 201) throw new Error(`submit workflow: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Re-reads the run at each of its change signals (at least every second) until `done` holds. */
export async function waitForRun(app: NestFastifyApplication, token: string, id: string, done: (run: any) => boolean = (r) => r.status === 'completed', timeoutMs = 120_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await api(app, 'GET', `/v1/workflows/${id}`, { token });
    if (done(res.body)) return res.body;
    if (Date.now() > until) throw new Error(`workflow ${id} did not settle: ${JSON.stringify(res.body, null, 1)}`);
    await app.get(WorkflowsService).nextChange(id, Math.min(1_000, Math.max(1, until - Date.now())));
  }
}

export function instancesOf(run: any): Record<string, any> {
  return Object.fromEntries(run.jobs.flatMap((j: any) => j.instances.map((i: any) => [i.display_name, i])));
}

/** Containers, networks and (instance) volumes labelled with a workflow run. */
export async function workflowLeftovers(runId: string): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const filters = { label: [`orcaops.workflow_run=${runId}`] };
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
  return { containers: containers.map((c) => c.Names[0] ?? c.Id), networks: networks.map((n) => n.Name), volumes: volumes.map((v) => v.Name) };
}

/** afterAll: containers, networks and volumes of this installation's workflow runs. */
export async function removeWorkflowLeftovers(databaseUrl: string): Promise<void> {
  const id = await installationId(databaseUrl);
  if (!id) return;
  const filters = { label: [`orcaops.install=${id}`] };
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => undefined);
}
