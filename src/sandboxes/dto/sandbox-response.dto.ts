export class SandboxResourcesResponseDto {
  cpu!: number;
  memory_mb!: number;
  pids!: number;
  disk_mb!: number;
}

export class SandboxResponseDto {
  id!: string;
  workspace_id!: string;
  /** The agent session it was created in, if any. */
  session_id!: string | null;
  name!: string | null;
  /** starting | ready | stopping | stopped | expired | failed | lost */
  status!: string;
  /** Why it ended: ttl, idle, deleted, oom_killed, engine_lost, container_exited, start_failed, image_not_found... */
  exit_reason!: string | null;
  /** Why it ended; while it starts (and once ready), the latest line of its image pull, if it pulled. */
  message!: string | null;
  image!: string;
  /** The registry digest (sha256:…) its image resolved to when it started; null for images built on this engine. */
  image_digest!: string | null;
  /** if_not_present | always | never */
  pull_policy!: string;
  profile!: string | null;
  resources!: SandboxResourcesResponseDto;
  network!: string;
  env_keys!: string[];
  /** Environment variable → secret name the sandbox asked for (never values). */
  secrets!: Record<string, string>;
  labels!: Record<string, string>;
  metadata!: Record<string, unknown>;
  ttl_seconds!: number;
  idle_timeout_seconds!: number;
  /** Came pre-started from the warm pool. */
  pooled!: boolean;
  created_at!: string;
  ready_at!: string | null;
  expires_at!: string;
  last_activity_at!: string;
  stopped_at!: string | null;
}

export class SandboxListResponseDto {
  items!: SandboxResponseDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor!: string | null;
}

export class SandboxProfilePortDto {
  container!: number;
  protocol!: string;
}

export class SandboxProfileResponseDto {
  name!: string;
  description!: string | null;
  image!: string;
  /** if_not_present | always | never */
  pull_policy!: string;
  command!: string[] | null;
  resources!: SandboxResourcesResponseDto;
  timeout_seconds!: number;
  env_keys!: string[];
  /** Environment variable → secret name, resolved in the workspace that uses the profile (never values). */
  secrets!: Record<string, string>;
  ports!: SandboxProfilePortDto[];
  cleanup_policy!: string;
  success_exit_codes!: number[];
}

export class SandboxProfileListResponseDto {
  items!: SandboxProfileResponseDto[];
}
