import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { observeEngineCalls } from 'src/runtime/docker/engine-call';
import { PlatformMetrics } from 'src/telemetry/platform-metrics';

/** Feeds every engine call's latency and failures (engine-call.ts) into the Prometheus registry. */
@Injectable()
export class EngineCallMetrics implements OnModuleInit, OnModuleDestroy {
  constructor(private readonly metrics: PlatformMetrics) {}

  onModuleInit(): void {
    const { engineCallDuration, engineCallErrors } = this.metrics;
    observeEngineCalls((operation, seconds, failure) => {
      engineCallDuration.observe({ operation, outcome: failure ? 'error' : 'ok' }, seconds);
      if (failure) engineCallErrors.inc({ operation, kind: failure });
    });
  }

  onModuleDestroy(): void {
    observeEngineCalls(undefined);
  }
}
