import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { EgressController } from 'src/egress/egress.controller';
import { egressConfig } from 'src/egress/egress.config';
import { EgressEventLog } from 'src/egress/egress-event-log';
import { EgressGateway } from 'src/egress/egress-gateway.service';
import { EgressUsage } from 'src/egress/egress-usage';
import { EgressEventEntity } from 'src/egress/entities/egress-event.entity';
import { EgressUsageDayEntity } from 'src/egress/entities/egress-usage-day.entity';
import { PoliciesModule } from 'src/policies/policies.module';
import { RuntimeModule } from 'src/runtime/runtime.module';

/** The egress gateway, its decision log and byte counters (tables egress_events, egress_usage_days) (issue 14); below jobs and sandboxes, which lease credentials from it. */
@Module({
  imports: [ConfigModule.forFeature(egressConfig), TypeOrmModule.forFeature([EgressEventEntity, EgressUsageDayEntity]), RuntimeModule, PoliciesModule],
  controllers: [EgressController],
  providers: [EgressGateway, EgressEventLog, EgressUsage, provideScopedRepository(EgressEventEntity), provideScopedRepository(EgressUsageDayEntity)],
  exports: [EgressGateway, EgressEventLog],
})
export class EgressModule {}
