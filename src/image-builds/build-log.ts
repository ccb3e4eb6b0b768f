import { StringDecoder } from 'node:string_decoder';
import type { SecretMasker } from 'src/common/masking/secret-masker';
import { MaskingStream } from 'src/common/masking/secret-masker';

/**
 * The output of one running build, as readers see it: masked as it arrives (a value split across two
 * chunks included), capped at `maxBytes` (the head is kept, with one line saying so), and readable
 * from any offset while followers wait for more.
 */
export class BuildLog {
  private readonly masking: MaskingStream;
  private readonly decoder = new StringDecoder('utf8');
  private bytes = 0;
  private waiters: Array<() => void> = [];
  private markSaved!: () => void;
  text = '';
  truncated = false;
  done = false;
  /** Settles once the build's record holds its final state (readers then take the end from it). */
  readonly saved = new Promise<void>((resolve) => (this.markSaved = resolve));

  constructor(
    masker: SecretMasker,
    private readonly maxBytes: number,
  ) {
    this.masking = new MaskingStream(masker);
  }

  append(chunk: string): void {
    if (this.done) return;
    this.add(this.decoder.write(this.masking.push(Buffer.from(chunk, 'utf8'))));
  }

  /** A line of the server's own (`[orcaops] …`), after what the build printed so far. */
  note(line: string): void {
    this.append(`[orcaops] ${line}\n`);
  }

  finish(): void {
    if (this.done) return;
    this.add(this.decoder.write(this.masking.end()) + this.decoder.end());
    this.done = true;
    this.wake();
  }

  /** The record is final (called after finish(), once it is stored). */
  stored(): void {
    this.markSaved();
  }

  /** Resolves on the next change (more output, or the end), or when `signal` aborts. */
  changed(signal?: AbortSignal): Promise<void> {
    if (this.done || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const onAbort = (): void => resolve();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  private add(text: string): void {
    if (!text || this.truncated) return;
    const size = Buffer.byteLength(text);
    if (this.bytes + size > this.maxBytes) {
      const room = Math.max(0, this.maxBytes - this.bytes);
      this.text += `${Buffer.from(text).subarray(0, room).toString('utf8').replace(/\uFFFD$/, '')}\n[orcaops] build output truncated at ${this.maxBytes} bytes\n`;
      this.truncated = true;
    } else {
      this.text += text;
      this.bytes += size;
    }
    this.wake();
  }

  private wake(): void {
    const ready = this.waiters;
    this.waiters = [];
    for (const resolve of ready) resolve();
  }
}
