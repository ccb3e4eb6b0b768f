import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source-options';
import { Foundation1795673738147 } from '../../migrations/1795673738147-Foundation';
import { Jobs1795674352314 } from '../../migrations/1795674352314-Jobs';
import { Quotas1795683358490 } from '../../migrations/1795683358490-Quotas';
import { Sandboxes1795678061727 } from '../../migrations/1795678061727-Sandboxes';
import { createEmptyDatabase } from '../support/database';

const BEFORE = [Foundation1795673738147, Jobs1795674352314, Sandboxes1795678061727];

/** The Quotas migration moves the pre-quota limit settings into quota_limits, and back on revert. */
describe('Quotas migration', () => {
  let db: Awaited<ReturnType<typeof createEmptyDatabase>>;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createEmptyDatabase();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('moves max_concurrent_jobs, max_sandboxes and max_sandbox_seconds_per_day out of settings', async () => {
    const before = await new DataSource({ ...buildDataSourceOptions(db.url), migrations: BEFORE }).initialize();
    await before.runMigrations();
    await before.query(
      `INSERT INTO workspaces (id, name, settings) VALUES
         ('11111111-1111-4111-8111-111111111111', 'limited', '{"max_concurrent_jobs": 2, "max_sandboxes": 3, "max_sandbox_seconds_per_day": 600, "description": "kept"}'),
         ('22222222-2222-4222-8222-222222222222', 'unset', '{"max_sandbox_seconds_per_day": null, "job_retention_days": 7}')`,
    );
    await before.destroy();

    ds = await new DataSource({ ...buildDataSourceOptions(db.url), migrations: [...BEFORE, Quotas1795683358490] }).initialize();
    await ds.runMigrations();
    const limits = await ds.query(`SELECT workspace_id, quota, limit_value::int AS limit FROM quota_limits ORDER BY quota`);
    expect(limits).toEqual([
      { workspace_id: '11111111-1111-4111-8111-111111111111', quota: 'concurrent_sandboxes', limit: 3 },
      { workspace_id: '11111111-1111-4111-8111-111111111111', quota: 'running_jobs', limit: 2 },
      { workspace_id: '11111111-1111-4111-8111-111111111111', quota: 'sandbox_seconds_per_day', limit: 600 },
    ]);
    const settings = await ds.query(`SELECT name, settings FROM workspaces ORDER BY name`);
    expect(settings).toEqual([
      { name: 'limited', settings: { description: 'kept' } },
      { name: 'unset', settings: { job_retention_days: 7 } },
    ]);

    await ds.undoLastMigration();
    const restored = await ds.query(`SELECT settings FROM workspaces WHERE name = 'limited'`);
    expect(restored).toEqual([{ settings: { description: 'kept', max_concurrent_jobs: 2, max_sandboxes: 3, max_sandbox_seconds_per_day: 600 } }]);
  });
});
