import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { PeriodicPass } from 'src/common/periodic-pass';
import { SessionsService } from 'src/sessions/sessions.service';

/** How often idle sessions are looked for: idle timeouts are at least a minute, so a few seconds late is fine. */
export const SESSION_REAPER_INTERVAL_MS = 15_000;

/** Ends idle sessions periodically (and their work when they asked for it), like the sandbox reaper. */
@Injectable()
export class SessionReaperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly pass: PeriodicPass<string[]>;

  constructor(sessions: SessionsService) {
    this.pass = new PeriodicPass({
      name: 'session expiry pass',
      intervalMs: SESSION_REAPER_INTERVAL_MS,
      pass: () => sessions.expireIdle(),
      fallback: [],
      logger: new Logger('SessionReaper'),
    });
  }

  onApplicationBootstrap(): void {
    this.pass.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pass.stop();
  }

  /** One pass, never two at once (tests call it instead of waiting for the timer). Returns the ended ids. */
  tick(): Promise<string[]> {
    return this.pass.run();
  }
}
