import Docker from 'dockerode';
import { Client } from 'pg';

export const docker = new Docker({ socketPath: process.env.ORCAOPS_DOCKER_SOCKET ?? '/var/run/docker.sock' });

export async function installationId(databaseUrl: string): Promise<string | undefined> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>('SELECT id FROM installation');
    return rows[0]?.id;
  } finally {
    await client.end();
  }
}

/** Containers (any state) of one test installation: every job container carries its label. */
export async function installationContainers(databaseUrl: string): Promise<Docker.ContainerInfo[]> {
  const id = await installationId(databaseUrl);
  if (!id) return [];
  return docker.listContainers({ all: true, filters: { label: [`orcaops.install=${id}`] } });
}

/** afterAll: nothing a test started may outlive it. */
export async function removeInstallationContainers(databaseUrl: string): Promise<void> {
  for (const c of await installationContainers(databaseUrl)) {
    await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
  }
}

export async function jobContainers(databaseUrl: string, jobId: string): Promise<Docker.ContainerInfo[]> {
  return (await installationContainers(databaseUrl)).filter((c) => c.Labels['orcaops.job_id'] === jobId);
}
