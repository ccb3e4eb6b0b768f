import { IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';
import { RESOURCE_BOUNDS } from 'src/domain/container-spec';

/** The `resources` of a job or sandbox request. The class name stays as published in the OpenAPI document. */
export class JobResourcesDto {
  /** CPUs (0.1–4). Default 1. */
  @IsOptional() @IsNumber({ maxDecimalPlaces: 2 }) @Min(RESOURCE_BOUNDS.cpu.min) @Max(RESOURCE_BOUNDS.cpu.max)
  cpu?: number;

  /** Memory limit in MiB, no swap (16–8192). Default 512. */
  @IsOptional() @IsInt() @Min(RESOURCE_BOUNDS.memory_mb.min) @Max(RESOURCE_BOUNDS.memory_mb.max)
  memory_mb?: number;

  /** Processes and threads (16–512). Default 128. */
  @IsOptional() @IsInt() @Min(RESOURCE_BOUNDS.pids.min) @Max(RESOURCE_BOUNDS.pids.max)
  pids?: number;

  /** Size of the writable /workspace in MiB (1–1024). Default 256. */
  @IsOptional() @IsInt() @Min(RESOURCE_BOUNDS.disk_mb.min) @Max(RESOURCE_BOUNDS.disk_mb.max)
  disk_mb?: number;
}
