/**
 * Splits the engine's multiplexed output stream (8-byte frame header: stream type, 3 zero bytes, payload
 * length big-endian; then the payload) into stdout and stderr.
 *
 * Replaces docker-modem's `demuxStream`, which re-concatenates its whole pending buffer for every chunk and
 * copies the remainder for every frame, recursively: a chunk holding thousands of tiny frames (a process
 * that writes a byte at a time) costs quadratic time on the event loop and one stack frame per frame.
 * This one walks each chunk once, keeps only the header bytes that straddle a chunk boundary, and hands out
 * payloads as views of the chunk (no copies).
 */
export type DemuxedStream = 'stdout' | 'stderr';

const HEADER_BYTES = 8;

export class OutputDemuxer {
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private payloadLeft = 0;
  private current: DemuxedStream = 'stdout';
  /** Set once a header is not a valid frame header: the stream is not multiplexed (TTY), pass it through. */
  private raw = false;

  constructor(private readonly emit: (stream: DemuxedStream, chunk: Buffer) => void) {}

  push(chunk: Buffer): void {
    if (this.raw) {
      if (chunk.length > 0) this.emit('stdout', chunk);
      return;
    }
    let offset = 0;
    while (offset < chunk.length) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, chunk.length - offset);
        this.emit(this.current, chunk.subarray(offset, offset + take));
        offset += take;
        this.payloadLeft -= take;
        continue;
      }
      const take = Math.min(HEADER_BYTES - this.headerFill, chunk.length - offset);
      chunk.copy(this.header, this.headerFill, offset, offset + take);
      this.headerFill += take;
      offset += take;
      if (this.headerFill < HEADER_BYTES) return;
      this.headerFill = 0;
      const type = this.header[0];
      if (type !== 0 && type !== 1 && type !== 2) {
        // Same fallback as the engine's clients: not a multiplexed stream; everything from here is stdout.
        this.raw = true;
        this.emit('stdout', Buffer.concat([this.header, chunk.subarray(offset)]));
        return;
      }
      this.current = type === 2 ? 'stderr' : 'stdout';
      this.payloadLeft = this.header.readUInt32BE(4);
    }
  }
}

/** Demultiplexes `stream` into `onOutput` as it flows. */
export function demuxOutput(
  stream: { on(event: 'data', listener: (chunk: Buffer) => void): unknown },
  onOutput: (stream: DemuxedStream, chunk: Buffer) => void,
): void {
  const demuxer = new OutputDemuxer(onOutput);
  stream.on('data', (chunk: Buffer) => demuxer.push(chunk));
}
