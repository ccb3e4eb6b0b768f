import { Global, Module } from '@nestjs/common';
import { PlatformMetrics } from 'src/telemetry/platform-metrics';

/**
 * The metrics registry, global so every feature can register its own gauges and counters without
 * importing the features that read them (they sit above it). Below the database and the runtime.
 */
@Global()
@Module({ providers: [PlatformMetrics], exports: [PlatformMetrics] })
export class TelemetryModule {}
