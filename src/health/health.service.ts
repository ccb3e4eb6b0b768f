import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';

export interface CheckResult {
  ok: boolean;
  detail: string;
  latency_ms: number;
}

export interface ReadinessReport {
  ready: boolean;
  checks: { database: CheckResult; docker: CheckResult };
}

async function timed(check: () => Promise<string>): Promise<CheckResult> {
  const started = performance.now();
  try {
    const detail = await check();
    return { ok: true, detail, latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, detail: (error as Error).message, latency_ms: Math.round(performance.now() - started) };
  }
}

@Injectable()
export class HealthService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
  ) {}

  async readiness(): Promise<ReadinessReport> {
    const [database, docker] = await Promise.all([
      timed(async () => {
        await this.dataSource.query('SELECT 1');
        return 'PostgreSQL answers';
      }),
      timed(async () => {
        const info = await this.runtime.ping();
        return `Docker ${info.version} (API ${info.apiVersion}, cgroup v${info.cgroupVersion}, ${info.runtime})`;
      }),
    ]);
    return { ready: database.ok && docker.ok, checks: { database, docker } };
  }
}
