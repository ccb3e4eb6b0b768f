import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { QuotaLimitEntity } from 'src/quotas/entities/quota-limit.entity';
import { QuotaUsageDayEntity } from 'src/quotas/entities/quota-usage-day.entity';
import { AdmissionRefusalAudit } from 'src/quotas/admission-refusal-audit';
import { QuotaClock } from 'src/quotas/quota-clock';
import { QuotaLimits } from 'src/quotas/quota-limits';
import { QuotaUsage } from 'src/quotas/quota-usage';
import { QuotasController } from 'src/quotas/quotas.controller';
import { QuotasService } from 'src/quotas/quotas.service';

/**
 * Limits and usage accounting. Below workspaces, jobs and sandboxes (they call it to admit work and to
 * store the legacy limit settings); it depends only on the database and audit.
 */
@Module({
  imports: [TypeOrmModule.forFeature([QuotaLimitEntity, QuotaUsageDayEntity]), AuditModule],
  controllers: [QuotasController],
  providers: [QuotasService, QuotaLimits, QuotaUsage, QuotaClock, AdmissionRefusalAudit],
  exports: [QuotasService, QuotaClock],
})
export class QuotasModule {}
