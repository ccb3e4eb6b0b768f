import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ApprovalsService } from 'src/approvals/approvals.service';
import { ApprovalRequestsService } from 'src/policies/approval-requests.service';

/** A sweep also runs this often, for requests opened by another server or before a restart. */
const SWEEP_INTERVAL_MS = 30_000;
/** Timers further out than this are left to the sweep (setTimeout's limit is about 24.8 days). */
const MAX_TIMER_MS = 24 * 3600 * 1000;

/**
 * Expires pending approvals on time: a timer per request opened in this process (event-driven), and a
 * periodic sweep that also catches up after a restart. Expiry itself is a compare-and-set, so two
 * servers (or a timer and the sweep) expiring the same request do it once.
 */
@Injectable()
export class ApprovalExpiryService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ApprovalExpiryService.name);
  private readonly timers = new Set<NodeJS.Timeout>();
  private sweeper?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly approvals: ApprovalsService,
    requests: ApprovalRequestsService,
  ) {
    requests.onOpened((row) => this.schedule(row.expiresAt));
  }

  async onApplicationBootstrap(): Promise<void> {
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    await this.sweep();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(expiresAt: Date): void {
    const delay = expiresAt.getTime() - Date.now() + 50;
    if (this.stopped || delay > MAX_TIMER_MS) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.sweep();
    }, Math.max(0, delay));
    timer.unref();
    this.timers.add(timer);
  }

  private async sweep(): Promise<void> {
    if (this.stopped) return;
    try {
      const n = await this.approvals.expireDue();
      if (n) this.logger.log({ msg: 'approval requests expired', count: n });
    } catch (error) {
      this.logger.error({ msg: 'approval expiry sweep failed', err: String(error) });
    }
  }
}
