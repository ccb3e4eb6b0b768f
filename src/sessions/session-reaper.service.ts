import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SessionsService } from 'src/sessions/sessions.service';

/** How often idle sessions are looked for: idle timeouts are at least a minute, so a few seconds late is fine. */
export const SESSION_REAPER_INTERVAL_MS = 15_000;

/** Ends idle sessions periodically (and their work when they asked for it), like the sandbox reaper. */
@Injectable()
export class SessionReaperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SessionReaper');
  private timer?: NodeJS.Timeout;
  private running?: Promise<string[]>;

  constructor(private readonly sessions: SessionsService) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), SESSION_REAPER_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass, never two at once; tests call it with a later `now` instead of waiting. Returns the ended ids. */
  tick(now?: Date): Promise<string[]> {
    this.running ??= this.sessions
      .expireIdle(now)
      .catch((error: unknown) => {
        this.logger.warn({ msg: 'session expiry pass failed', err: String(error) });
        return [];
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
