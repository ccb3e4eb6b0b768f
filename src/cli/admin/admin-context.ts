import { INestApplicationContext, Module, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { userInfo } from 'node:os';
import { CONFIG_IMPORT } from 'src/app.module';
import { AuditModule } from 'src/audit/audit.module';
import { DatabaseModule } from 'src/database/database.module';
import { buildTenantContext } from 'src/tenancy/tenant-context.factory';
import { TenantContext } from 'src/tenancy/tenant-context';
import { RegistryCredentialsModule } from 'src/registries/registry-credentials.module';
import { SecretsModule } from 'src/secrets/secrets.module';
import { WorkspacesModule } from 'src/workspaces/workspaces.module';
import { OperatorModule } from 'src/operator/operator.module';
import { TelemetryModule } from 'src/telemetry/telemetry.module';
import { randomUUID } from 'node:crypto';

/** What operator commands need: the database and the services, no HTTP server. */
@Module({ imports: [CONFIG_IMPORT, DatabaseModule, AuditModule, WorkspacesModule, SecretsModule, RegistryCredentialsModule] })
export class AdminModule {}

/** `orcaops admin ps|logs|inspect|stop|rm|gc`: the engine views, on the database and the engine (no runners, no reapers). */
@Module({ imports: [CONFIG_IMPORT, TelemetryModule, DatabaseModule, AuditModule, OperatorModule] })
export class EngineAdminModule {}

/** Operator commands act as the organisation, audited as the local OS user. */
export function operatorContext(): TenantContext {
  return buildTenantContext(
    { kind: 'organisation', tokenId: `operator:${userInfo().username}`.slice(0, 64), tokenName: 'local operator' },
    randomUUID(),
    undefined,
    'cli',
  );
}

export async function withAdminContext<T>(fn: (app: INestApplicationContext) => Promise<T>, module: Type = AdminModule): Promise<T> {
  const app = await NestFactory.createApplicationContext(module, { logger: ['error', 'warn'] });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}
