import { CliError } from 'src/cli/cli-error';
import { runtimeConfig } from 'src/config/orcaops.config';
import type { ContainerRuntime, EngineInfo } from 'src/runtime/container-runtime.port';
import { DockerRuntime } from 'src/runtime/docker/docker.runtime';
import { RuntimeError } from 'src/runtime/runtime.errors';

/** The engine operations operator commands use without the database (images, doctor). */
export type OperatorEngine = Pick<ContainerRuntime, 'ping' | 'inspectImage' | 'importImage'>;

export interface LocalEngine {
  engine: OperatorEngine;
  socketPath: string;
}

/** The local Docker engine, always the real one (ORCAOPS_RUNTIME=fake only affects the server). */
export function localEngine(): LocalEngine {
  const { socketPath } = runtimeConfig();
  return { engine: new DockerRuntime(socketPath), socketPath };
}

export const ENGINE_FIX =
  'run scripts/setup.sh (installs and starts Docker on Debian as root), or start the Docker engine yourself; ' +
  'set ORCAOPS_DOCKER_SOCKET if it listens on another socket';

/** Pings the engine, or fails the command with what to do. */
export async function requireEngine({ engine, socketPath }: LocalEngine): Promise<EngineInfo> {
  try {
    return await engine.ping();
  } catch (error) {
    if (!(error instanceof RuntimeError)) throw error;
    throw new CliError(
      'engine_unavailable',
      `Docker engine not reachable at ${socketPath} (${error.message}): ${ENGINE_FIX}`,
    );
  }
}
