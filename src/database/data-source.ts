// Entry for the TypeORM CLI (migration:generate / migration:run). The app builds its own DataSource.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source-options';
import { readEnv } from 'src/config/orcaops.config';

const url = readEnv().DATABASE_URL;
if (!url) throw new Error('Set DATABASE_URL to run the TypeORM CLI');
export default new DataSource(buildDataSourceOptions(url));
