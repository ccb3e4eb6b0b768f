import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditController } from 'src/audit/audit.controller';
import { AuditEventEntity } from 'src/audit/entities/audit-event.entity';
import { AuditService } from 'src/audit/audit.service';
import { AuthFailureAudit } from 'src/audit/auth-failure-audit';

@Module({
  imports: [TypeOrmModule.forFeature([AuditEventEntity])],
  controllers: [AuditController],
  providers: [AuditService, AuthFailureAudit],
  exports: [AuditService, AuthFailureAudit],
})
export class AuditModule {}
