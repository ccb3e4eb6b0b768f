import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { EgressController } from 'src/egress/egress.controller';
import { egressConfig } from 'src/egress/egress.config';
import { EgressEventLog } from 'src/egress/egress-event-log';
import { EgressGateway } from 'src/egress/egress-gateway.service';
import { PoliciesModule } from 'src/policies/policies.module';
import { RuntimeModule } from 'src/runtime/runtime.module';

/** The egress gateway and its decision log (issue 14); below jobs and sandboxes, which lease credentials from it. */
@Module({
  imports: [ConfigModule.forFeature(egressConfig), RuntimeModule, PoliciesModule],
  controllers: [EgressController],
  providers: [EgressGateway, EgressEventLog],
  exports: [EgressGateway, EgressEventLog],
})
export class EgressModule {}
