import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { CONTAINER_RUNTIME, ContainerRuntime, EngineInfo } from 'src/runtime/container-runtime.port';
import { RuntimeError } from 'src/runtime/runtime.errors';

const REFRESH_MS = 2_000;
/** A cached answer older than this is re-checked on the request path. */
const STALE_MS = 5_000;

/**
 * "Is the engine up?" for request paths that need it: answers 503 fast instead of failing later. The
 * answer is refreshed in the background so a submit never waits for the engine's (slow) info call.
 */
@Injectable()
export class EngineHealth implements OnModuleInit, OnModuleDestroy {
  private checkedAt = 0;
  private available = false;
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;
  private lastInfo?: EngineInfo;

  constructor(@Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.check().catch(() => undefined), REFRESH_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async assertAvailable(): Promise<void> {
    if (Date.now() - this.checkedAt > STALE_MS) await this.check();
    if (!this.available) {
      throw new OrcaOpsError('engine_unavailable', 'The Docker engine is not reachable; retry shortly');
    }
  }

  /** The engine's versions from the last successful check (run records); undefined before the first. */
  info(): EngineInfo | undefined {
    return this.lastInfo;
  }

  /** After an engine error on a real call: the next request checks again before answering. */
  invalidate(): void {
    this.checkedAt = 0;
  }

  /**
   * One ping at a time: with a hung engine each ping waits out its 2 s deadline (engine-call.ts), and the
   * background refresh and request paths share that one attempt instead of piling up connections.
   */
  private check(): Promise<void> {
    this.checking ??= this.ping().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async ping(): Promise<void> {
    try {
      this.lastInfo = await this.runtime.ping();
      this.available = true;
    } catch (error) {
      if (!(error instanceof RuntimeError)) throw error;
      this.available = false;
    }
    this.checkedAt = Date.now();
  }
}
