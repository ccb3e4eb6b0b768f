import type { ContainerSpec } from 'src/runtime/container-runtime.port';
import { SANDBOX_USER } from 'src/runtime/container-runtime.port';
import type { SandboxResources, SandboxSpec } from 'src/sandboxes/sandbox-model';
import { DEFAULT_SANDBOX_RESOURCES } from 'src/sandboxes/sandbox-model';

/**
 * How a sandbox container is built (pure): the jobs' hardening profile via the ContainerRuntime port
 * (the adapter applies caps, read-only root, sized tmpfs, limits) with a keep-alive main process, since
 * everything a tenant runs is an exec. Env is deliberately NOT baked in: it is applied per exec, so a
 * pool container started before any tenant existed is identical to one made for the sandbox.
 */

const MiB = 1024 * 1024;
/** PID 1's child (under docker-init) that keeps the container alive between execs. */
export const SANDBOX_KEEPALIVE = ['sleep', '2147483647'];
export const SANDBOX_WORKDIR = '/workspace';
export { SANDBOX_USER };

export function sandboxLabels(sandbox: { id: string; workspaceId: string }, installationId: string): Record<string, string> {
  return {
    'orcaops.managed': 'true',
    'orcaops.install': installationId,
    'orcaops.kind': 'sandbox',
    'orcaops.sandbox_id': sandbox.id,
    'orcaops.workspace_id': sandbox.workspaceId,
  };
}

/** Pool containers belong to no tenant: no tenant labels, only the server that owns the pool. */
export function poolLabels(installationId: string, ownerId: string, image: string): Record<string, string> {
  return {
    'orcaops.managed': 'true',
    'orcaops.install': installationId,
    'orcaops.kind': 'pool',
    'orcaops.pool_owner': ownerId,
    'orcaops.pool_image': image,
  };
}

export function sandboxContainerSpec(
  name: string,
  image: string,
  resources: SandboxResources,
  network: SandboxSpec['network'],
  labels: Record<string, string>,
): ContainerSpec {
  return {
    name,
    image,
    command: SANDBOX_KEEPALIVE,
    env: {},
    labels,
    user: SANDBOX_USER,
    workingDir: SANDBOX_WORKDIR,
    resources: {
      cpus: resources.cpu,
      memoryBytes: resources.memory_mb * MiB,
      pidsLimit: resources.pids,
      tmpBytes: 64 * MiB,
      workspaceBytes: resources.disk_mb * MiB,
      nofile: 1024,
    },
    network,
  };
}

/** `orcaops/python` and `orcaops/python:latest` name the same image (the pool matches on this). */
export function canonicalImage(image: string): string {
  if (image.includes('@')) return image;
  const lastSlash = image.lastIndexOf('/');
  return image.slice(lastSlash + 1).includes(':') ? image : `${image}:latest`;
}

export function isDefaultResources(r: SandboxResources): boolean {
  const d = DEFAULT_SANDBOX_RESOURCES;
  return r.cpu === d.cpu && r.memory_mb === d.memory_mb && r.pids === d.pids && r.disk_mb === d.disk_mb;
}

/** Parses ORCAOPS_SANDBOX_POOL (`image=count,...`, already syntax-checked by env validation). */
export function parsePoolConfig(value: string): Map<string, number> {
  const pool = new Map<string, number>();
  for (const entry of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = entry.lastIndexOf('=');
    const count = Number(entry.slice(eq + 1));
    if (eq > 0 && count > 0) pool.set(canonicalImage(entry.slice(0, eq)), count);
  }
  return pool;
}
