import { Module } from '@nestjs/common';
import { QuotasModule } from 'src/quotas/quotas.module';
import { RegistriesModule } from 'src/registries/registries.module';
import { RuntimeModule } from 'src/runtime/runtime.module';
import { ServiceContainers } from 'src/services-runtime/service-containers';

/** Companion service containers (networks, volumes, readiness, quotas): shared by workflows and environments. */
@Module({
  imports: [RuntimeModule, QuotasModule, RegistriesModule],
  providers: [ServiceContainers],
  exports: [ServiceContainers],
})
export class ServicesRuntimeModule {}
