import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';

export class EngineObjectsQueryDto {
  /** Only orphans (`true`). */
  @IsOptional() @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value)) @IsBoolean()
  orphans?: boolean;

  /** Only this kind of object: container, volume or network. */
  @IsOptional() @IsIn(['container', 'volume', 'network'])
  type?: 'container' | 'volume' | 'network';
}

export class EngineLogsQueryDto {
  /** How much of the end of the output (bytes, default 64 KiB, max 1 MiB). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1024 * 1024)
  tail_bytes?: number;
}

export class EngineGcDto {
  /** List what would be removed without removing anything. */
  @IsOptional() @IsBoolean()
  dry_run?: boolean;
}

export class EngineObjectResponseDto {
  /** container | volume | network */
  type!: string;
  /** Container id; the name of a volume or network. */
  id!: string;
  name!: string;
  /** job, sandbox, pool, workflow_service, workflow_pod, workflow_network, workflow_volume, egress, other. */
  kind!: string;
  /** A container's state (running, exited...); null for volumes and networks. */
  status!: string | null;
  workspace_id!: string | null;
  installation_id!: string | null;
  /** Whether it belongs to the installation answering (null when it carries no installation label). */
  this_installation!: boolean | null;
  /** When the engine created it (ISO 8601). */
  created_at!: string | null;
  age_seconds!: number | null;
  orphan!: boolean;
  /** record_gone, record_ended, pool_owner_gone or installation_gone. */
  orphan_reason!: string | null;
  /** The orcaops.* labels. */
  labels!: Record<string, string>;
}

export class EngineObjectListResponseDto {
  items!: EngineObjectResponseDto[];
}

export class EngineContainerInspectResponseDto extends EngineObjectResponseDto {
  exit_code!: number | null;
  oom_killed!: boolean;
  started_at!: string | null;
  finished_at!: string | null;
  /** none, starting, healthy or unhealthy. */
  health!: string;
}

export class EngineLogsResponseDto {
  id!: string;
  /** The end of the main process's output (stdout and stderr interleaved). */
  logs!: string;
}

export class EngineGcFailureResponseDto {
  type!: string;
  id!: string;
  error!: string;
}

export class EngineGcResponseDto {
  dry_run!: boolean;
  /** The orphans removed (or, with dry_run, that would be). */
  removed!: EngineObjectResponseDto[];
  failed!: EngineGcFailureResponseDto[];
}
