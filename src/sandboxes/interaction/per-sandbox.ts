/**
 * Live handles (shells, background processes) kept per sandbox in this server's memory, keyed by a
 * name or id within the sandbox. `end` releases one handle when its sandbox's handles are dropped.
 */
export class PerSandbox<T> {
  private readonly bySandbox = new Map<string, Map<string, T>>();

  constructor(private readonly end: (handle: T) => void) {}

  /** The sandbox's handles, as a live map (created on first use). */
  of(sandboxId: string): Map<string, T> {
    let handles = this.bySandbox.get(sandboxId);
    if (!handles) {
      handles = new Map<string, T>();
      this.bySandbox.set(sandboxId, handles);
    }
    return handles;
  }

  get(sandboxId: string, key: string): T | undefined {
    return this.bySandbox.get(sandboxId)?.get(key);
  }

  values(sandboxId: string): T[] {
    return [...(this.bySandbox.get(sandboxId)?.values() ?? [])];
  }

  delete(sandboxId: string, key: string): void {
    this.bySandbox.get(sandboxId)?.delete(key);
  }

  /** Ends every handle of the sandbox and forgets them. */
  drop(sandboxId: string): void {
    for (const handle of this.values(sandboxId)) this.end(handle);
    this.bySandbox.delete(sandboxId);
  }

  sandboxIds(): string[] {
    return [...this.bySandbox.keys()];
  }
}
