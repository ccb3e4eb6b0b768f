/** The window a summary row covers. */
export interface AuditWindow {
  window_start: string;
  window_end: string;
}

export interface WindowedAuditSinks<T> {
  /** The first event of a key in a window, recorded at once. */
  first(event: T): Promise<void>;
  /** One row per key that repeated in the window: `count` events of the key in all. */
  summary(first: T, count: number, window: AuditWindow): Promise<void>;
  /** Events of keys beyond the per-window key budget, counted into one row. */
  overflow(count: number, window: AuditWindow): Promise<void>;
}

interface Entry<T> {
  first: T;
  count: number;
}

/**
 * Audit events that a client can cause at will (failed authentications, refused admissions) without
 * letting a flood grow `audit_events` — and the database's write load — without bound. In each window the
 * first event of a key is recorded at once; repeats are counted in memory, and when the window ends each
 * key that repeated gets one summary row. Keys beyond `maxKeys` per window are only counted, into one
 * overflow row. The table stays append-only. At most 2 × maxKeys + 1 rows per window, whatever the flood.
 */
export class WindowedAudit<T> {
  private windowStart = Date.now();
  private entries = new Map<string, Entry<T>>();
  private overflowCount = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
    private readonly sinks: WindowedAuditSinks<T>,
  ) {
    this.sweeper = setInterval(() => void this.rollIfDue().catch(() => undefined), windowMs / 6).unref();
  }

  async add(key: string, event: T): Promise<void> {
    await this.rollIfDue();
    const entry = this.entries.get(key);
    if (entry) {
      entry.count += 1;
      return;
    }
    if (this.entries.size >= this.maxKeys) {
      this.overflowCount += 1;
      return;
    }
    this.entries.set(key, { first: event, count: 1 });
    await this.sinks.first(event);
  }

  /** Writes the summaries of the current window now (shutdown, tests) and starts a new one. */
  async flush(): Promise<void> {
    const [entries, overflow, start] = [this.entries, this.overflowCount, this.windowStart];
    this.entries = new Map();
    this.overflowCount = 0;
    this.windowStart = Date.now();
    const window = {
      window_start: new Date(start).toISOString(),
      window_end: new Date(this.windowStart).toISOString(),
    };
    for (const { first, count } of entries.values()) {
      if (count >= 2) await this.sinks.summary(first, count, window);
    }
    if (overflow > 0) await this.sinks.overflow(overflow, window);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.flush();
  }

  private async rollIfDue(): Promise<void> {
    if (Date.now() - this.windowStart >= this.windowMs) await this.flush();
  }
}
