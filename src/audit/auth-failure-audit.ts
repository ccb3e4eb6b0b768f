import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { AuditService } from 'src/audit/audit.service';
import { WindowedAudit } from 'src/audit/windowed-audit';

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

/**
 * `auth.failed` audit events without letting a flood of bad tokens grow `audit_events` without bound (WindowedAudit).
 * In each window the first failure of an (address, route, code) key is recorded at once, as before
 * (its request id names it). Repeats are counted in memory; when the window ends, each key that
 * failed more than once gets one summary row (`details.count`: failures of the key in the window,
 * `details.window_start` / `window_end`). The table stays append-only: no row is ever updated.
 * At most 2 × AUTH_FAILURE_KEYS_PER_WINDOW + 1 rows per window, whatever the flood.
 */
@Injectable()
export class AuthFailureAudit implements OnApplicationShutdown {
  private readonly windowed: WindowedAudit<AuthFailure>;

  constructor(private readonly audit: AuditService) {
    this.windowed = new WindowedAudit<AuthFailure>(AUTH_FAILURE_WINDOW_MS, AUTH_FAILURE_KEYS_PER_WINDOW, {
      first: (failure) =>
        this.audit.recordAnonymous({
          action: 'auth.failed',
          outcome: 'denied',
          requestId: failure.requestId,
          clientIp: failure.clientIp,
          via: failure.via,
          details: { code: failure.code, route: failure.route },
        }),
      summary: (first, count, window) =>
        this.audit.recordAnonymous({
          action: 'auth.failed',
          outcome: 'denied',
          clientIp: first.clientIp,
          via: first.via,
          details: {
            code: first.code,
            route: first.route,
            count,
            first_request_id: first.requestId,
            ...window,
          },
        }),
      overflow: (count, window) =>
        this.audit.recordAnonymous({
          action: 'auth.failed',
          outcome: 'denied',
          details: { code: 'many', route: 'many', count, overflow: true, ...window },
        }),
    });
  }

  record(failure: AuthFailure): Promise<void> {
    return this.windowed.add(`${failure.clientIp ?? '-'} ${failure.route} ${failure.code}`, failure);
  }

  /** Writes the summaries of the current window now (shutdown, tests) and starts a new one. */
  flush(): Promise<void> {
    return this.windowed.flush();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.windowed.close();
  }
}
