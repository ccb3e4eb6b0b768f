/**
 * Finds a command's end marker in one output stream of a persistent shell.
 *
 * The shell prints `\n<marker><rest of line>\n` after each command. The leading newline is always added
 * by us, so everything before `\n<marker>` is exactly the command's output (even when it did not end
 * with a newline). A chunk may end in the middle of the marker, so a suffix that could start it is held
 * back until the next chunk decides; at most the marker's length is ever held.
 */
/** Longest rest of a marker line held back while waiting for its newline. */
const MAX_MARKER_LINE_BYTES = 64 * 1024;

export class MarkerScanner {
  private pending: Buffer = Buffer.alloc(0);
  private needle: Buffer | undefined;
  /** Bytes of a possible marker start already handed out by release(). */
  private released = 0;

  /** Starts looking for a new marker (one per command). */
  expect(marker: string): void {
    this.needle = Buffer.from(`\n${marker}`, 'utf8');
    this.pending = Buffer.alloc(0);
    this.released = 0;
  }

  /**
   * Hands out the held-back suffix (a reader asked for the output so far: "start\n" must not wait for the
   * next chunk). It is nearly always real output, because the shell writes the marker line with one
   * atomic printf; if the marker does continue it, the next push still recognises it.
   */
  release(): Buffer {
    const out = this.pending;
    this.released = out.length;
    this.pending = Buffer.alloc(0);
    return out;
  }

  /**
   * Output safe to hand to the command, and the rest of the marker line once the marker was seen.
   * With no marker expected (no command running), data is passed through for the caller to discard.
   * `rest` is what followed the marker line in the same chunk (the caller decides what it belongs to).
   */
  push(chunk: Buffer): { data: Buffer; line?: string; rest?: Buffer } {
    const needle = this.needle;
    if (!needle) return { data: chunk };
    const released = this.released;
    this.released = 0;
    if (released > 0 && chunk.subarray(0, needle.length - released).equals(needle.subarray(released))) {
      this.pending = Buffer.concat([needle.subarray(0, released), chunk]);
      return this.push(Buffer.alloc(0));
    }
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const at = buf.indexOf(needle);
    if (at >= 0) {
      const eol = buf.indexOf(0x0a, at + needle.length);
      if (eol < 0) {
        // The marker line is short (an exit code, a cwd); endless bytes after a marker-like prefix are output, not held.
        if (buf.length - at - needle.length > MAX_MARKER_LINE_BYTES) {
          this.pending = Buffer.alloc(0);
          return { data: buf };
        }
        this.pending = buf.subarray(at);
        return { data: buf.subarray(0, at) };
      }
      this.needle = undefined;
      this.pending = Buffer.alloc(0);
      return {
        data: buf.subarray(0, at),
        line: buf.subarray(at + needle.length, eol).toString('utf8'),
        rest: buf.subarray(eol + 1),
      };
    }
    const keep = partialMatch(buf, needle);
    this.pending = Buffer.from(buf.subarray(buf.length - keep));
    return { data: buf.subarray(0, buf.length - keep) };
  }
}

/** Length of the longest suffix of buf that is a proper prefix of needle. */
function partialMatch(buf: Buffer, needle: Buffer): number {
  for (let k = Math.min(needle.length - 1, buf.length); k > 0; k--) {
    if (buf.subarray(buf.length - k).equals(needle.subarray(0, k))) return k;
  }
  return 0;
}
