import { Module } from '@nestjs/common';
import { AuditModule } from 'src/audit/audit.module';
import { InstallationModule } from 'src/database/installation.module';
import { EngineAdminController } from 'src/operator/engine-admin.controller';
import { EngineAdminService } from 'src/operator/engine-admin.service';
import { EngineRecords } from 'src/operator/engine-records';
import { RuntimeModule } from 'src/runtime/runtime.module';

/**
 * Operator views of the engine. Imports no feature module (it reads records by id itself), so the
 * `orcaops admin` context can load it without starting runners or reapers.
 */
@Module({
  imports: [RuntimeModule, InstallationModule, AuditModule],
  controllers: [EngineAdminController],
  providers: [EngineAdminService, EngineRecords],
  exports: [EngineAdminService],
})
export class OperatorModule {}
