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

  /** Newest first; optionally one job's or sandbox's. */
  list(workspaceId: string, filter: { kind?: 'job' | 'sandbox'; id?: string } = {}, limit = 100): EgressEvent[] {
    return (this.byWorkspace.get(workspaceId) ?? [])
      .filter((e) => (!filter.kind || e.subject_kind === filter.kind) && (!filter.id || e.subject_id === filter.id))
      .slice(-limit)
      .reverse();
  }
}
