import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { AuditEventEntity } from 'src/audit/entities/audit-event.entity';
import { AdminTokenEntity } from 'src/workspaces/entities/admin-token.entity';
import { ApiTokenEntity } from 'src/workspaces/entities/api-token.entity';
import { WorkspaceEntity } from 'src/workspaces/entities/workspace.entity';

/** Every entity, listed explicitly (no globs) so the drift check and the app agree. */
export const ENTITIES = [WorkspaceEntity, ApiTokenEntity, AdminTokenEntity, AuditEventEntity];

/** The one DataSource options object, shared by Nest, the CLI, tests and the TypeORM CLI. */
export function buildDataSourceOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    // __dirname is src/database (ts) or dist/src/database (js): migrations sit two levels up either way.
    migrations: [join(__dirname, '..', '..', 'migrations', '*.{ts,js}')],
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    extra: { max: 20 },
  };
}
