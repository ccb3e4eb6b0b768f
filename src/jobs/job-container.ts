import type { JobEntity } from 'src/jobs/entities/job.entity';
import type { ContainerSpec } from 'src/runtime/container-runtime.port';

// The job container: its labels and its create body (the runtime adds the hardening, docker/hardening.ts).

const MiB = 1024 * 1024;
/** PID 1's child: keeps the container alive while steps run as execs. */
const KEEPALIVE = ['sleep', '2147483647'];

export const jobLabels = (
  job: Pick<JobEntity, 'id' | 'workspaceId'>,
  installationId: string,
  deadline: number,
): Record<string, string> => ({
  'orcaops.managed': 'true',
  'orcaops.install': installationId,
  'orcaops.kind': 'job',
  'orcaops.job_id': job.id,
  'orcaops.workspace_id': job.workspaceId,
  'orcaops.deadline': String(Math.ceil(deadline / 1000)),
});

/**
 * One step and nothing to collect: the step is the container's main process (no keep-alive, no exec
 * round trips). Such a run survives its server (the engine keeps the process and its output), so a
 * restarted server re-attaches to it; steps run as execs cannot be re-attached and are interrupted.
 */
export function runsAsMainProcess(spec: JobEntity['spec']): boolean {
  return spec.steps.length === 1 && spec.artifacts.length === 0 && !spec.internal?.step_driver;
}

/**
 * `image`: the resolved reference (pinned by digest after a pull), default the spec's. `secretEnv`: the
 * opened secrets (RunState.secretEnv), added to the environment here only, never to the stored spec.
 */
export function containerSpecFor(job: JobEntity, installationId: string, deadline: number, image = job.spec.image, secretEnv?: Record<string, string>): ContainerSpec {
  const { resources } = job.spec;
  const internal = job.spec.internal;
  return {
    name: `orcaops-job-${job.id}`,
    image,
    command: KEEPALIVE,
    env: secretEnv ? { ...job.spec.env, ...secretEnv } : job.spec.env,
    labels: { ...job.spec.internal?.labels, ...jobLabels(job, installationId, deadline) },
    workingDir: '/workspace',
    resources: {
      cpus: resources.cpu,
      memoryBytes: resources.memory_mb * MiB,
      pidsLimit: resources.pids,
      tmpBytes: internal?.tmp_bytes ?? 64 * MiB,
      workspaceBytes: resources.disk_mb * MiB,
      nofile: internal?.nofile ?? 1024,
    },
    network: job.spec.network,
    ...(internal?.attach ? { attach: internal.attach } : {}),
    ...(internal?.extra_hosts ? { extraHosts: internal.extra_hosts } : {}),
    // Workflow `container.options` (src/workflows/runner/service-options.ts): typed, still the strict profile.
    ...(internal?.user ? { user: internal.user } : {}),
    ...(internal?.tmpfs?.length ? { tmpfs: internal.tmpfs.map((t) => ({ path: t.path, sizeBytes: t.size_bytes, ...(t.mode ? { mode: t.mode } : {}), exec: t.exec === true })) } : {}),
    ...(internal?.volumes?.length ? { volumes: internal.volumes.map((v) => ({ name: v.name, target: v.target, readOnly: v.read_only })) } : {}),
    ...(internal?.shm_bytes ? { shmBytes: internal.shm_bytes } : {}),
  };
}
