import { Injectable, Logger } from '@nestjs/common';
import type { TenantContext } from 'src/tenancy/tenant-context';

/** Something that ends a tenant's right to run work: the work already running is stopped by listeners. */
export type WorkspaceLifecycleEvent =
  | { kind: 'workspace_stopped'; status: 'suspended' | 'archived'; workspaceId: string; actor: TenantContext }
  | { kind: 'token_revoked'; workspaceId: string; tokenId: string; actor: TenantContext };

export type WorkspaceLifecycleListener = (event: WorkspaceLifecycleEvent) => Promise<void>;

/**
 * Workspaces sit below jobs, sandboxes and workflows in the module graph, so they cannot stop that work
 * themselves: a module above them (src/governance) listens here. Emitted after the change committed;
 * awaited, so the request that suspended or revoked answers once the running work was told to stop.
 */
@Injectable()
export class WorkspaceLifecycle {
  private readonly logger = new Logger('WorkspaceLifecycle');
  private readonly listeners: WorkspaceLifecycleListener[] = [];

  on(listener: WorkspaceLifecycleListener): void {
    this.listeners.push(listener);
  }

  async emit(event: WorkspaceLifecycleEvent): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(event);
      } catch (error) {
        // The status change itself committed; a listener's failure is logged, not turned into a failed request.
        this.logger.error({ msg: 'workspace lifecycle listener failed', kind: event.kind, workspaceId: event.workspaceId, err: String(error) });
      }
    }
  }
}
