import type { SecretMasker } from 'src/common/masking/secret-masker';

/**
 * The contract between the sandbox lifecycle (SandboxesService) and the interaction layer (exec,
 * shells, processes, files): what a caller may act on once access and state are checked.
 */
export interface LiveSandbox {
  id: string;
  workspaceId: string;
  containerId: string;
  /** uid:gid every exec runs as. */
  user: string;
  /** Default working directory (/workspace). */
  workdir: string;
  /** Applied to every exec, shell and process (sandbox env is per exec, so pool containers stay generic). */
  env: Record<string, string>;
  /** The sandbox's secrets (spec.secrets), opened for this call: their values become *** in every output. */
  masker: SecretMasker;
}
