import { Module } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { runtimeConfig } from 'src/config/orcaops.config';
import { hostname } from 'node:os';
import { CONTAINER_RUNTIME, ContainerRuntime, HOME_LABEL, HOST_LABEL } from 'src/runtime/container-runtime.port';
import { DockerRuntime } from 'src/runtime/docker/docker.runtime';
import { engineTimeouts } from 'src/runtime/docker/engine-call';
import { FakeRuntime } from 'src/runtime/fake/fake.runtime';
import { EngineHealth } from 'src/runtime/engine-health.service';
import { EngineCallMetrics } from 'src/runtime/engine-call-metrics';

/** Chooses the engine adapter from configuration (docker, or fake for unit tests). */
@Module({
  providers: [
    {
      provide: CONTAINER_RUNTIME,
      inject: [runtimeConfig.KEY],
      useFactory: (config: ConfigType<typeof runtimeConfig>): ContainerRuntime =>
        config.driver === 'fake'
          ? new FakeRuntime()
          : new DockerRuntime(config.socketPath, engineTimeouts(config.engineCallTimeoutMs), { [HOME_LABEL]: config.home, [HOST_LABEL]: hostname() }),
    },
    EngineHealth,
    EngineCallMetrics,
  ],
  exports: [CONTAINER_RUNTIME, EngineHealth],
})
export class RuntimeModule {}
