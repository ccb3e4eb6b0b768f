import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { RunnerLiveness } from 'src/jobs/runner-liveness';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ENDED_SANDBOX = ['stopped', 'expired', 'failed', 'lost'];

/**
 * The operator's look-ups across workspaces: which records the labels of engine objects still point
 * at, and which pool owners are gone. Ids only leave these queries; every id came from a label this
 * installation set.
 */
@Injectable()
export class EngineRecords {
  private readonly liveness: RunnerLiveness;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.liveness = new RunnerLiveness(dataSource);
  }

  /** The given ids that still have a job, sandbox or workflow run row, and the sandboxes that ended. */
  async existing(ids: { jobs: string[]; sandboxes: string[]; runs: string[] }): Promise<{ existing: Set<string>; endedSandboxes: Set<string> }> {
    const valid = (list: string[]): string[] => [...new Set(list.filter((id) => UUID.test(id)))];
    const [jobs, sandboxes, runs] = await Promise.all([
      this.ids('SELECT id FROM jobs WHERE id = ANY($1::uuid[])', valid(ids.jobs)),
      this.rows<{ id: string; status: string }>('SELECT id, status FROM sandboxes WHERE id = ANY($1::uuid[])', valid(ids.sandboxes)),
      this.ids('SELECT id FROM workflow_runs WHERE id = ANY($1::uuid[])', valid(ids.runs)),
    ]);
    const existing = new Set([...jobs, ...sandboxes.map((s) => s.id), ...runs]);
    return { existing, endedSandboxes: new Set(sandboxes.filter((s) => ENDED_SANDBOX.includes(s.status)).map((s) => s.id)) };
  }

  /** Pool owners (server ids) that no longer hold their liveness lock. */
  async goneOwners(owners: string[]): Promise<Set<string>> {
    const gone = new Set<string>();
    for (const owner of new Set(owners)) if (await this.liveness.isGone(owner)) gone.add(owner);
    return gone;
  }

  private async ids(sql: string, ids: string[]): Promise<string[]> {
    return (await this.rows<{ id: string }>(sql, ids)).map((r) => r.id);
  }

  private async rows<T>(sql: string, ids: string[]): Promise<T[]> {
    if (!ids.length) return [];
    return this.dataSource.query<T[]>(sql, [ids]);
  }
}
