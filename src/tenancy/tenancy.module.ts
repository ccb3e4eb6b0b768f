import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from 'src/audit/audit.module';
import { ApiTokenStrategy } from 'src/tenancy/api-token.strategy';
import { TenantGuard } from 'src/tenancy/tenant.guard';
import { TokenAuthService } from 'src/tenancy/token-auth.service';
import { AdminTokenEntity } from 'src/workspaces/entities/admin-token.entity';
import { ApiTokenEntity } from 'src/workspaces/entities/api-token.entity';

@Module({
  imports: [PassportModule, AuditModule, TypeOrmModule.forFeature([ApiTokenEntity, AdminTokenEntity])],
  providers: [TokenAuthService, ApiTokenStrategy, TenantGuard],
  exports: [TokenAuthService, TenantGuard],
})
export class TenancyModule {}
