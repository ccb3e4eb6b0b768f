/** Bounded in-memory output stores for long-lived execs (shell commands, background processes). */

export type StreamName = 'stdout' | 'stderr';

export interface OutputChunk {
  seq: number;
  stream: StreamName;
  data: Buffer;
}

/**
 * Output of a background process: chunks numbered from 1 so a reader can resume with `after=N`. Holds at
 * most `capBytes`; the oldest chunks are dropped first (a reader that fell behind sees `first_seq` jump).
 */
export class OutputRing {
  private readonly chunks: OutputChunk[] = [];
  private bytes = 0;
  private lastSeq = 0;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly capBytes: number) {}

  push(stream: StreamName, data: Buffer): void {
    const chunk = data.length > this.capBytes ? data.subarray(data.length - this.capBytes) : data;
    this.chunks.push({ seq: ++this.lastSeq, stream, data: chunk });
    this.bytes += chunk.length;
    while (this.bytes > this.capBytes && this.chunks.length > 1) this.bytes -= this.chunks.shift()!.data.length;
    this.wake();
  }

  /** Chunks with seq > after (at most `limit`); `tail` keeps only the last ones. */
  read(after: number, limit: number, tail?: number): OutputChunk[] {
    const newer = this.chunks.filter((c) => c.seq > after);
    return tail !== undefined ? newer.slice(-tail) : newer.slice(0, limit);
  }

  get firstSeq(): number {
    return this.chunks[0]?.seq ?? this.lastSeq + 1;
  }

  get last(): number {
    return this.lastSeq;
  }

  /** Resolves on the next push or close (for followers). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  wake(): void {
    for (const w of this.waiters) w();
    this.waiters.clear();
  }
}

/**
 * Collected output of a one-shot exec or a shell command: keeps the first `capBytes` (the start of a
 * build log explains the failure more often than its end would) and counts what it dropped.
 */
export class CappedCollector {
  private readonly parts: Buffer[] = [];
  private size = 0;
  dropped = 0;

  constructor(private readonly capBytes: number) {}

  push(data: Buffer): void {
    const room = this.capBytes - this.size;
    if (room <= 0) {
      this.dropped += data.length;
      return;
    }
    const kept = data.length > room ? data.subarray(0, room) : data;
    this.parts.push(kept);
    this.size += kept.length;
    this.dropped += data.length - kept.length;
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  get length(): number {
    return this.size;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }

  /** Hands out what was collected so far and starts over (a wait returns only new output). */
  drain(): Buffer {
    const out = Buffer.concat(this.parts);
    this.parts.length = 0;
    this.size = 0;
    return out;
  }
}
