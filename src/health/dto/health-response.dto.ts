export class LivenessResponseDto {
  /** Always "ok": the process answers. */
  status!: string;
}

export class HealthCheckResponseDto {
  ok!: boolean;
  /** What was checked, or why it failed. */
  detail!: string;
  latency_ms!: number;
}

export class ReadinessChecksResponseDto {
  database!: HealthCheckResponseDto;
  docker!: HealthCheckResponseDto;
}

export class ReadinessResponseDto {
  ready!: boolean;
  checks!: ReadinessChecksResponseDto;
}
