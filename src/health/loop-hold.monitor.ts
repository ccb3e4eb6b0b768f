import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { LoopHoldWatchdog } from 'src/common/loop-hold';
import { readEnv } from 'src/config/orcaops.config';

/**
 * Logs a warning whenever the event loop was held while the process spent ORCAOPS_LOOP_HOLD_WARN_MS (default
 * 50 ms) or more of CPU: while it is held, no tenant's request is answered. The abuse suite fails a
 * case whose abuse makes the server log one over its bound.
 */
@Injectable()
export class LoopHoldMonitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EventLoop');
  private watchdog?: LoopHoldWatchdog;

  onApplicationBootstrap(): void {
    const thresholdMs = readEnv().ORCAOPS_LOOP_HOLD_WARN_MS;
    if (thresholdMs === 0) return;
    this.watchdog = new LoopHoldWatchdog(thresholdMs, (hold, suppressed) =>
      this.logger.warn(
        `event loop held for ${hold.cpuMs} ms of CPU (${hold.wallMs} ms)` +
          (suppressed.count > 0 ? `; ${suppressed.count} more since the last report, the longest ${suppressed.maxCpuMs} ms of CPU` : ''),
      ),
    );
    this.watchdog.start();
  }

  onApplicationShutdown(): void {
    this.watchdog?.stop();
  }
}
