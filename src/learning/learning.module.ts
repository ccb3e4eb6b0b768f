import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { BaselinesController } from 'src/learning/baselines.controller';
import { RunBaselineEntity } from 'src/learning/entities/run-baseline.entity';
import { RunBaselines } from 'src/learning/run-baselines.service';

/**
 * What the platform learns from its runs (issue 16). Below the jobs module: the job finisher feeds a
 * finished run in, as plain data; nothing here reads jobs.
 */
@Module({
  imports: [TypeOrmModule.forFeature([RunBaselineEntity]), AuditModule],
  controllers: [BaselinesController],
  providers: [RunBaselines, provideScopedRepository(RunBaselineEntity)],
  exports: [RunBaselines],
})
export class LearningModule {}
