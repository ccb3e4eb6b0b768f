import { Global, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source-options';
import { DatabaseUrlProvider } from 'src/database/database-url.provider';
import { runMigrations } from 'src/database/migrate';
import { guardPoolClients } from 'src/database/pool-errors';
import { InstallationModule } from 'src/database/installation.module';

@Global()
@Module({ providers: [DatabaseUrlProvider], exports: [DatabaseUrlProvider] })
class DatabaseUrlModule {}


/** PostgreSQL through TypeORM; migrations run on start under an advisory lock. */
@Module({
  imports: [
    DatabaseUrlModule,
    TypeOrmModule.forRootAsync({
      inject: [DatabaseUrlProvider],
      useFactory: async (urls: DatabaseUrlProvider) => buildDataSourceOptions(await urls.url()),
      dataSourceFactory: async (options) => {
        const dataSource = await new DataSource(options!).initialize();
        const logger = new Logger('Database');
        guardPoolClients(dataSource, (message) => logger.warn(message));
        const applied = await runMigrations(dataSource);
        if (applied.length) logger.log(`applied migrations: ${applied.join(', ')}`);
        return dataSource;
      },
    }),
    InstallationModule,
  ],
  exports: [DatabaseUrlModule, InstallationModule],
})
export class DatabaseModule {}
