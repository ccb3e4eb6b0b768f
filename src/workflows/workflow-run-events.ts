import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

/**
 * In-process signal that a workflow run changed (an instance transition, a job attached, the run
 * completed). Followers re-read Postgres when it fires and after a bounded timeout, so a run driven by
 * another server is followed too, a little later (the same contract as JobEvents).
 */
@Injectable()
export class WorkflowRunEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  notify(runId: string): void {
    this.emitter.emit(runId);
  }

  /** Resolves at the run's next change or after `timeoutMs`, whichever is first (or on abort). */
  next(runId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.emitter.off(runId, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.emitter.once(runId, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
