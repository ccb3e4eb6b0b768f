import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { AuditModule } from 'src/audit/audit.module';
import { ApiTokenStrategy } from 'src/http/auth/api-token.strategy';
import { TenancyModule } from 'src/tenancy/tenancy.module';
import { TenantGuard } from 'src/http/auth/tenant.guard';
import { ScrapeToken } from 'src/http/auth/scrape-token';

/**
 * The HTTP edge: the passport strategy and the global guard. Only the HTTP application imports it —
 * passport keeps strategies in a process-wide registry, so an operator command's application context
 * must not register a second one over the server's.
 */
@Module({
  imports: [PassportModule, AuditModule, TenancyModule],
  providers: [ApiTokenStrategy, TenantGuard, ScrapeToken],
  exports: [TenantGuard],
})
export class HttpAuthModule {}
