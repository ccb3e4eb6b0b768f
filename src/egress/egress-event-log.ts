import { Injectable } from '@nestjs/common';

/** One egress decision: who, where to (name and address), allowed or denied by which rule, how much. */
export interface EgressEvent {
  at: string;
  workspace_id: string;
  subject_kind: 'job' | 'sandbox';
  subject_id: string;
  method: 'CONNECT' | 'HTTP';
  host: string;
  address: string | null;
  port: number;
  decision: 'allowed' | 'denied';
  rule: string;
  bytes_up: number;
  bytes_down: number;
  duration_ms: number;
}

export interface EgressQuery {
  job_id?: string;
  sandbox_id?: string;
  decision?: 'allowed' | 'denied';
  limit?: number;
}

/**
 * Recent egress decisions, per workspace, in memory and bounded (the newest `perWorkspace` are kept):
 * a busy workspace cannot grow the server's memory, and one workspace's traffic cannot push out another's.
 */
@Injectable()
export class EgressEventLog {
  private readonly byWorkspace = new Map<string, EgressEvent[]>();
  perWorkspace = 1000;

  record(event: EgressEvent): void {
    const list = this.byWorkspace.get(event.workspace_id) ?? [];
    list.push({ ...event });
    if (list.length > this.perWorkspace) list.splice(0, list.length - this.perWorkspace);
    this.byWorkspace.set(event.workspace_id, list);
  }

  /** Newest first, one workspace's only (REST, CLI and MCP read through this). */
  forWorkspace(workspaceId: string, q: EgressQuery = {}): Array<Omit<EgressEvent, 'workspace_id'>> {
    return (this.byWorkspace.get(workspaceId) ?? [])
      .filter(
        (e) =>
          (!q.job_id || (e.subject_kind === 'job' && e.subject_id === q.job_id)) &&
          (!q.sandbox_id || (e.subject_kind === 'sandbox' && e.subject_id === q.sandbox_id)) &&
          (!q.decision || e.decision === q.decision),
      )
      .slice(-(q.limit ?? 100))
      .reverse()
      .map(({ workspace_id: _omit, ...rest }) => rest);
  }
}
