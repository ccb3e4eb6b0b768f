import type { EnvironmentDefinition } from 'src/environments/environment-definition';

/**
 * An environment's states. `starting`: services coming up in dependency order, then the sandbox;
 * `ready`: all running; `stopping`: being removed; `stopped` (deleted, or its sandbox ended) and
 * `failed` (could not start; everything it made is removed) are terminal.
 */
export const ENVIRONMENT_STATUSES = ['starting', 'ready', 'stopping', 'stopped', 'failed'] as const;
export type EnvironmentStatus = (typeof ENVIRONMENT_STATUSES)[number];
export const LIVE_ENVIRONMENT_STATUSES: EnvironmentStatus[] = ['starting', 'ready'];
/** States whose service reservation counts against workflow_service_containers / _memory_mb. */
export const RESERVING_ENVIRONMENT_STATUSES: EnvironmentStatus[] = ['starting', 'ready', 'stopping'];

/** One service's state as the response shows it. */
export interface EnvironmentServiceState {
  name: string;
  image: string;
  /** pending | starting | ready | failed | stopped */
  status: 'pending' | 'starting' | 'ready' | 'failed' | 'stopped';
}

/** What the environment made on the engine: enough to tear it down after a restart (labels catch the rest). */
export interface EnvironmentEngineObjects {
  network?: string;
  containers: string[];
  volumes: string[];
}

/** The definition as stored: template name or the project file's definition, resolved at create. */
export type StoredEnvironmentDefinition = EnvironmentDefinition;

/** Progress lines kept on the row (the CLI prints them while `up` waits). */
export const MAX_ENVIRONMENT_EVENTS = 100;

export function environmentLabels(installationId: string, environment: { id: string; workspaceId: string }): Record<string, string> {
  return {
    'orcaops.managed': 'true',
    'orcaops.install': installationId,
    'orcaops.workspace_id': environment.workspaceId,
    'orcaops.environment_id': environment.id,
  };
}
