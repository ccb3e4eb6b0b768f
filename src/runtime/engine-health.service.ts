import { Inject, Injectable } from '@nestjs/common';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';
import { RuntimeError } from 'src/runtime/runtime.errors';

const CACHE_MS = 2_000;

/** "Is the engine up?" for request paths that need it: answers 503 fast instead of failing later. */
@Injectable()
export class EngineHealth {
  private checkedAt = 0;
  private available = false;

  constructor(@Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime) {}

  async assertAvailable(): Promise<void> {
    if (Date.now() - this.checkedAt > CACHE_MS) {
      try {
        await this.runtime.ping();
        this.available = true;
      } catch (error) {
        if (!(error instanceof RuntimeError)) throw error;
        this.available = false;
      }
      this.checkedAt = Date.now();
    }
    if (!this.available) {
      throw new OrcaOpsError('engine_unavailable', 'The Docker engine is not reachable; retry shortly');
    }
  }

  /** After an engine error on a real call: re-check on the next request. */
  invalidate(): void {
    this.checkedAt = 0;
  }
}
