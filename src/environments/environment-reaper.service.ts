import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { PeriodicPass } from 'src/common/periodic-pass';
import { EnvironmentEntity } from 'src/environments/entities/environment.entity';
import { EnvironmentLifecycle } from 'src/environments/environment-lifecycle.service';
import { SandboxReads } from 'src/sandboxes/sandbox-reads.service';
import { SANDBOX_TERMINAL } from 'src/sandboxes/sandbox-model';

const REAPER_INTERVAL_MS = 5_000;
/** Every this many passes (about a minute) the engine is swept for orphaned environment objects. */
const ORPHAN_SWEEP_EVERY = 12;

/**
 * Ends environments whose sandbox ended (TTL, idle, quota, deleted on its own): the environment lives
 * as long as its sandbox. At boot it also finishes what a stopped server left: environments still
 * starting (their start died with the process) fail and are removed, stopping ones are removed.
 * One server per installation is assumed for environments (like the embedded database).
 */
@Injectable()
export class EnvironmentReaperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EnvironmentReaper');
  private passes = 0;
  private readonly pass = new PeriodicPass({ name: 'environment reaper pass', intervalMs: REAPER_INTERVAL_MS, pass: () => this.reap(), fallback: 0, logger: this.logger });

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly lifecycle: EnvironmentLifecycle,
    private readonly sandboxes: SandboxReads,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.recover().catch((error: unknown) => this.logger.warn({ msg: 'environment recovery failed', err: String(error) }));
    this.pass.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pass.stop();
  }

  /** One pass (tests call it instead of waiting); returns how many environments it ended. */
  run(): Promise<number> {
    return this.pass.run();
  }

  private async recover(): Promise<void> {
    const rows = await this.dataSource.getRepository(EnvironmentEntity).find({ where: { status: In(['starting', 'stopping']) } });
    for (const row of rows) {
      if (row.status === 'starting' && !(await this.lifecycle.beginStop(row.workspaceId, row.id, 'system', 'the server stopped while it was starting'))) continue;
      await this.lifecycle.finish(row.workspaceId, row.id, 'system', row.status === 'starting' ? 'failed' : 'stopped');
    }
    await this.sweep();
  }

  /** Engine objects of environments that are not live (a crash between the engine call and the row update). */
  private sweep(): Promise<number> {
    return this.lifecycle.removeOrphans(async (ids) => {
      const live = await this.dataSource.getRepository(EnvironmentEntity).find({ where: { id: In(ids), status: In(['starting', 'ready', 'stopping']) }, select: { id: true } });
      return new Set(live.map((r) => r.id));
    });
  }

  private async reap(): Promise<number> {
    if (++this.passes % ORPHAN_SWEEP_EVERY === 0) await this.sweep().catch((err: unknown) => this.logger.warn({ msg: 'environment orphan sweep failed', err: String(err) }));
    const rows = await this.dataSource.getRepository(EnvironmentEntity).find({ where: { status: 'ready' }, select: { id: true, workspaceId: true, sandboxId: true } });
    let ended = 0;
    for (const [workspaceId, group] of groupBy(rows)) {
      const statuses = await this.sandboxes.statuses(workspaceId, group.flatMap((r) => (r.sandboxId ? [r.sandboxId] : [])));
      for (const row of group) {
        const status = row.sandboxId ? statuses.get(row.sandboxId) : undefined;
        if (status !== undefined && !SANDBOX_TERMINAL.has(status)) continue;
        if (!(await this.lifecycle.beginStop(workspaceId, row.id, 'system', `its sandbox ended (${status ?? 'missing'})`))) continue;
        await this.lifecycle.finish(workspaceId, row.id, 'system', 'stopped');
        ended++;
      }
    }
    return ended;
  }
}

function groupBy(rows: EnvironmentEntity[]): Map<string, EnvironmentEntity[]> {
  const groups = new Map<string, EnvironmentEntity[]>();
  for (const row of rows) groups.set(row.workspaceId, [...(groups.get(row.workspaceId) ?? []), row]);
  return groups;
}
