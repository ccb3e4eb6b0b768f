import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

/**
 * In-process signal that a job has new output or changed state. Readers re-read Postgres when it
 * fires; they also poll, so a job run by another server is followed too, a little later.
 */
@Injectable()
export class JobEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  notify(jobId: string): void {
    this.emitter.emit(jobId);
  }

  /** Resolves at the next notification for the job or after `timeoutMs`, whichever is first. */
  next(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.emitter.off(jobId, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.emitter.once(jobId, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
