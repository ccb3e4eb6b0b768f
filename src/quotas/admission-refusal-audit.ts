import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { AuditService } from 'src/audit/audit.service';
import { WindowedAudit } from 'src/audit/windowed-audit';
import { TenantContext } from 'src/tenancy/tenant-context';

export interface AdmissionRefusal {
  ctx: TenantContext;
  workspaceId: string;
  /** job, sandbox, workflow_source, workflow_service */
  kind: string;
  /** The quota_exceeded error's details (quota, limit, current, ...). */
  details: Record<string, unknown>;
}

/** Refusals are aggregated per window of this length. */
export const REFUSAL_WINDOW_MS = 60_000;
/** Distinct (workspace, kind, quota, token) keys recorded per window, all workspaces together. */
export const REFUSAL_KEYS_PER_WINDOW = 1_000;

/**
 * `<kind>.create` denied (quota_exceeded) audit events. A client retrying a full quota in a loop would
 * otherwise write one audit row per attempt: each (workspace, kind, quota, token) key's first refusal of a
 * window is recorded at once with its details, as before; repeats become one row with `details.count`
 * when the window ends (WindowedAudit).
 */
@Injectable()
export class AdmissionRefusalAudit implements OnApplicationShutdown {
  private readonly windowed: WindowedAudit<AdmissionRefusal>;

  constructor(private readonly audit: AuditService) {
    const row = (r: AdmissionRefusal, extra: Record<string, unknown>) =>
      this.audit.record(r.ctx, {
        action: `${r.kind}.create`,
        outcome: 'denied',
        resourceType: r.kind,
        workspaceId: r.workspaceId,
        details: { code: 'quota_exceeded', ...r.details, ...extra },
      });
    this.windowed = new WindowedAudit<AdmissionRefusal>(REFUSAL_WINDOW_MS, REFUSAL_KEYS_PER_WINDOW, {
      first: (r) => row(r, {}),
      summary: (first, count, window) => row(first, { count, ...window }),
      overflow: (count, window) =>
        this.audit.recordSystem(null, {
          action: 'admission.refused',
          outcome: 'denied',
          details: { code: 'quota_exceeded', count, overflow: true, ...window },
        }),
    });
  }

  record(refusal: AdmissionRefusal): Promise<void> {
    const quota = typeof refusal.details.quota === 'string' ? refusal.details.quota : '-';
    return this.windowed.add(
      `${refusal.workspaceId} ${refusal.kind} ${quota} ${refusal.ctx.principal.tokenId ?? '-'}`,
      refusal,
    );
  }

  flush(): Promise<void> {
    return this.windowed.flush();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.windowed.close();
  }
}
