import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { databaseConfig } from 'src/config/orcaops.config';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from 'src/database/embedded-postgres';

/** Resolves the database URL: DATABASE_URL, else the embedded cluster (started on first use). */
@Injectable()
export class DatabaseUrlProvider implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private embedded?: Promise<EmbeddedPostgresHandle>;

  constructor(@Inject(databaseConfig.KEY) private readonly config: ConfigType<typeof databaseConfig>) {}

  async url(): Promise<string> {
    if (this.config.url) return this.config.url;
    this.embedded ??= startEmbeddedPostgres({
      dir: this.config.embeddedDir,
      port: this.config.embeddedPort,
      log: (line) => this.logger.debug(line),
      warn: (line) => this.logger.warn(line),
    }).then((handle) => {
      this.logger.log(
        handle.owned
          ? `embedded PostgreSQL started in ${this.config.embeddedDir} on port ${this.config.embeddedPort}`
          : `embedded PostgreSQL already running on port ${this.config.embeddedPort}; connecting to it`,
      );
      return handle;
    });
    return (await this.embedded).url;
  }

  describe(): string {
    return this.config.url ? 'external (DATABASE_URL)' : `embedded (${this.config.embeddedDir})`;
  }

  async onApplicationShutdown(): Promise<void> {
    const handle = await this.embedded?.catch(() => undefined);
    if (handle?.owned) {
      await handle.stop();
      this.logger.log('embedded PostgreSQL stopped');
    }
  }
}
