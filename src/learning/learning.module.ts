import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { AnomaliesController, BaselinesController } from 'src/learning/baselines.controller';
import { RunAnomalyEntity } from 'src/learning/entities/run-anomaly.entity';
import { RunBaselineEntity } from 'src/learning/entities/run-baseline.entity';
import { RunBaselines } from 'src/learning/run-baselines.service';

/**
 * What the platform learns from its runs (issue 16). Below the jobs module: the job finisher feeds a
 * finished run in, as plain data; nothing here reads jobs.
 */
@Module({
  imports: [TypeOrmModule.forFeature([RunBaselineEntity, RunAnomalyEntity]), AuditModule],
  controllers: [BaselinesController, AnomaliesController],
  providers: [RunBaselines, provideScopedRepository(RunBaselineEntity), provideScopedRepository(RunAnomalyEntity)],
  exports: [RunBaselines],
})
export class LearningModule {}
