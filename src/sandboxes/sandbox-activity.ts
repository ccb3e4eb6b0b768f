import { Injectable } from '@nestjs/common';

/**
 * What "idle" means (issue: no API call AND no running process for the idle period). Every API call on
 * a sandbox touches it; every exec, shell command or background process holds a lease while it runs.
 * In memory: the server that manages a sandbox is the one that runs its processes.
 */
@Injectable()
export class SandboxActivity {
  private readonly lastTouch = new Map<string, number>();
  private readonly leases = new Map<string, number>();
  private readonly forgetListeners: Array<(sandboxId: string) => void> = [];

  /** Called when a sandbox stops for good, so shells and processes held for it are let go. */
  onForget(listener: (sandboxId: string) => void): void {
    this.forgetListeners.push(listener);
  }

  touch(sandboxId: string, at = Date.now()): void {
    this.lastTouch.set(sandboxId, at);
  }

  /** Marks a process as running; call the returned function exactly once when it ends. */
  begin(sandboxId: string): () => void {
    this.touch(sandboxId);
    this.leases.set(sandboxId, (this.leases.get(sandboxId) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.leases.set(sandboxId, Math.max(0, (this.leases.get(sandboxId) ?? 1) - 1));
      this.touch(sandboxId);
    };
  }

  running(sandboxId: string): number {
    return this.leases.get(sandboxId) ?? 0;
  }

  /** Last API call or process end seen here (undefined if none since this server started). */
  lastActivity(sandboxId: string): number | undefined {
    return this.lastTouch.get(sandboxId);
  }

  forget(sandboxId: string): void {
    this.lastTouch.delete(sandboxId);
    this.leases.delete(sandboxId);
    for (const listener of this.forgetListeners) listener(sandboxId);
  }
}
