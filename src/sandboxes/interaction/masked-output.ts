import type { MaskingStream, SecretMasker } from 'src/common/masking/secret-masker';
import type { StreamName } from 'src/sandboxes/interaction/output-buffers';

/**
 * A sandbox command's output on its way to a reader (exec results and SSE, background process
 * buffers): the sandbox's secret values become *** per stream, a value split across chunks included.
 * Each stream holds back at most the longest masked form minus one byte; end() releases it.
 */
export class MaskedOutput {
  private readonly streams = new Map<StreamName, MaskingStream>();

  constructor(
    private readonly masker: SecretMasker,
    private readonly sink: (stream: StreamName, chunk: Buffer) => void,
  ) {}

  push(stream: StreamName, chunk: Buffer): void {
    if (this.masker.empty) return this.sink(stream, chunk);
    let masking = this.streams.get(stream);
    if (!masking) this.streams.set(stream, (masking = this.masker.stream()));
    const out = masking.push(chunk);
    if (out.length) this.sink(stream, out);
  }

  /** The command ended: what each stream still holds (a value's start that never completed) goes out as is. */
  end(): void {
    for (const [stream, masking] of this.streams) {
      const rest = masking.end();
      if (rest.length) this.sink(stream, rest);
    }
    this.streams.clear();
  }
}
