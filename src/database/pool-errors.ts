import type { DataSource } from 'typeorm';

interface PgClientLike {
  on(event: 'error', listener: (error: Error) => void): unknown;
  listenerCount(event: 'error'): number;
}
interface PgPoolLike {
  on(event: 'connect', listener: (client: PgClientLike) => void): unknown;
  _clients?: PgClientLike[];
}

/**
 * A lost database connection must never crash the server. pg emits 'error' on a client when its socket
 * dies; the pool listens only while a client is idle, and TypeORM's query runner listens only until the
 * first error (then removes its listener), so a second 'error' on a checked-out client (ECONNRESET, then
 * "Connection terminated unexpectedly") is an unhandled event that kills the process. Every client gets
 * one permanent listener; the failure still reaches whoever awaits a query on that client.
 */
export function guardPoolClients(dataSource: DataSource, log: (message: string) => void): void {
  const pool = (dataSource.driver as unknown as { master?: PgPoolLike }).master;
  if (!pool) return;
  const guard = (client: PgClientLike): void => {
    client.on('error', (error) => log(`database connection lost: ${error.message}`));
  };
  for (const client of pool._clients ?? []) guard(client);
  pool.on('connect', guard);
}

