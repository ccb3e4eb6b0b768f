import { OrcaOpsError } from 'src/common/errors/orcaops.error';

/**
 * Upload bodies are buffered whole (up to their route's cap, 128 MiB for an archive), so their
 * number in flight is what bounds the memory they take: at most `perToken` per token (fairness: one
 * tenant cannot take every slot) and `total` for the server. A slot is held from the start of the
 * body until the answer is sent or the connection closes.
 */
export class UploadSlots {
  private readonly byToken = new Map<string, number>();
  private inFlight = 0;

  constructor(
    private readonly perToken: number,
    private readonly total: number,
  ) {}

  /** A release function, or the error to answer (429 for the token's own cap, 503 for the server's). */
  acquire(tokenId: string): (() => void) | OrcaOpsError {
    const mine = this.byToken.get(tokenId) ?? 0;
    if (mine >= this.perToken) {
      return new OrcaOpsError('rate_limited', `At most ${this.perToken} uploads at once per token (ORCAOPS_UPLOADS_PER_TOKEN); retry when one has finished`, {
        limit: this.perToken,
        retry_after_seconds: 1,
        setting: 'ORCAOPS_UPLOADS_PER_TOKEN',
      });
    }
    if (this.inFlight >= this.total) {
      return new OrcaOpsError('service_unavailable', `The server is receiving ${this.total} uploads already (ORCAOPS_MAX_CONCURRENT_UPLOADS); retry shortly`, {
        limit: this.total,
        setting: 'ORCAOPS_MAX_CONCURRENT_UPLOADS',
      });
    }
    this.byToken.set(tokenId, mine + 1);
    this.inFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= 1;
      const left = (this.byToken.get(tokenId) ?? 1) - 1;
      if (left > 0) this.byToken.set(tokenId, left);
      else this.byToken.delete(tokenId);
    };
  }

  get active(): number {
    return this.inFlight;
  }
}
