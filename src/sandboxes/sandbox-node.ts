import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DataSource } from 'typeorm';
import { RunnerLiveness } from 'src/jobs/runner-liveness';

/**
 * This server's identity for sandboxes (runner_id, pool ownership) and its liveness lock: several
 * servers may share one database, and a sandbox or pool container managed by a live other server is
 * left alone; one whose server is gone is re-adopted or cleaned up.
 */
@Injectable()
export class SandboxNode {
  readonly id = `${hostname()}:${process.pid}:${randomUUID()}`;
  readonly liveness: RunnerLiveness;
  private held?: Promise<void>;
  private readonly verdicts = new Map<string, { gone: boolean; at: number }>();

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.liveness = new RunnerLiveness(dataSource);
  }

  hold(): Promise<void> {
    this.held ??= this.liveness.hold(this.id);
    return this.held;
  }

  async release(): Promise<void> {
    if (!this.held) return;
    await this.held.catch(() => undefined);
    this.held = undefined;
    await this.liveness.release();
  }

  /** Whether another server is gone (cached briefly: one probe per server per pass, not per row). */
  async isGone(otherId: string | null): Promise<boolean> {
    if (otherId === this.id) return false;
    if (!otherId) return true;
    const cached = this.verdicts.get(otherId);
    if (cached && Date.now() - cached.at < 2_000) return cached.gone;
    const gone = await this.liveness.isGone(otherId);
    this.verdicts.set(otherId, { gone, at: Date.now() });
    return gone;
  }
}
