import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { InstallationEntity } from 'src/database/installation.entity';

@Injectable()
export class InstallationService {
  private id?: Promise<string>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** This installation's id, created on first use (concurrent servers agree on one row). */
  installationId(): Promise<string> {
    this.id ??= (async () => {
      const repository = this.dataSource.getRepository(InstallationEntity);
      await repository.createQueryBuilder().insert().values({ singleton: true, id: randomUUID() }).orIgnore().execute();
      const row = await repository.findOneByOrFail({ singleton: true });
      return row.id;
    })();
    return this.id;
  }
}
