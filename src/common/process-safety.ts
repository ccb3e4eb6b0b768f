import { Logger } from '@nestjs/common';

/**
 * The server keeps serving every tenant when one background promise fails without a handler (for
 * example a write that a database outage broke): the failure is logged with its stack, and the
 * process stays up. Node's default (exit on an unhandled rejection) would take every tenant down and
 * leave running containers behind. Uncaught exceptions still end the process: their state is unknown.
 */
export function keepServingOnUnhandledRejections(logger = new Logger('Process')): void {
  process.on('unhandledRejection', (reason: unknown) => {
    const detail = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
    logger.error({ msg: 'unhandled promise rejection (the server keeps running)', err: detail });
  });
}
