import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { AuditService } from 'src/audit/audit.service';

export interface AuthFailure {
  clientIp?: string;
  requestId: string;
  /** `METHOD /route/:pattern` */
  route: string;
  /** The error code answered: unauthenticated, workspace_suspended, workspace_archived. */
  code: string;
  via: 'rest' | 'mcp';
}

/** Failed authentications are aggregated per window of this length. */
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/**
 * Distinct (address, route, code) keys recorded per window, all addresses together. Failures of further
 * keys are only counted, into one overflow row: a flood from many addresses adds a bounded number of rows.
 */
export const AUTH_FAILURE_KEYS_PER_WINDOW = 200;

interface Entry {
  first: AuthFailure;
  count: number;
}

/**
 * `auth.failed` audit events without letting a flood of bad tokens grow `audit_events` without bound.
 * In each window the first failure of an (address, route, code) key is recorded at once, as before
 * (its request id names it). Repeats are counted in memory; when the window ends, each key that
 * failed more than once gets one summary row (`details.count`: failures of the key in the window,
 * `details.window_start` / `window_end`). The table stays append-only: no row is ever updated.
 * At most 2 × AUTH_FAILURE_KEYS_PER_WINDOW + 1 rows per window, whatever the flood.
 */
@Injectable()
export class AuthFailureAudit implements OnApplicationShutdown {
  private windowStart = Date.now();
  private entries = new Map<string, Entry>();
  private overflow = 0;
  private readonly sweeper = setInterval(() => void this.rollIfDue(), AUTH_FAILURE_WINDOW_MS / 6).unref();

  constructor(private readonly audit: AuditService) {}

  async record(failure: AuthFailure): Promise<void> {
    await this.rollIfDue();
    const key = `${failure.clientIp ?? '-'} ${failure.route} ${failure.code}`;
    const entry = this.entries.get(key);
    if (entry) {
      entry.count += 1;
      return;
    }
    if (this.entries.size >= AUTH_FAILURE_KEYS_PER_WINDOW) {
      this.overflow += 1;
      return;
    }
    this.entries.set(key, { first: failure, count: 1 });
    await this.audit.recordAnonymous({
      action: 'auth.failed',
      outcome: 'denied',
      requestId: failure.requestId,
      clientIp: failure.clientIp,
      via: failure.via,
      details: { code: failure.code, route: failure.route },
    });
  }

  /** Writes the summaries of the current window now (shutdown, tests) and starts a new one. */
  async flush(): Promise<void> {
    const [entries, overflow, start] = [this.entries, this.overflow, this.windowStart];
    this.entries = new Map();
    this.overflow = 0;
    this.windowStart = Date.now();
    const window = { window_start: new Date(start).toISOString(), window_end: new Date(this.windowStart).toISOString() };
    for (const { first, count } of entries.values()) {
      if (count < 2) continue;
      await this.audit.recordAnonymous({
        action: 'auth.failed',
        outcome: 'denied',
        clientIp: first.clientIp,
        via: first.via,
        details: { code: first.code, route: first.route, count, first_request_id: first.requestId, ...window },
      });
    }
    if (overflow > 0) {
      await this.audit.recordAnonymous({
        action: 'auth.failed',
        outcome: 'denied',
        details: { code: 'many', route: 'many', count: overflow, overflow: true, ...window },
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.sweeper);
    await this.flush();
  }

  private async rollIfDue(): Promise<void> {
    if (Date.now() - this.windowStart >= AUTH_FAILURE_WINDOW_MS) await this.flush();
  }
}
