import type { EntityManager } from 'typeorm';

/**
 * Bounds every later statement of the caller's transaction to `ms` (SET LOCAL: it ends with the
 * transaction). A statement over it fails with SQLSTATE 57014 (isStatementTimeout).
 */
export async function setLocalStatementTimeout(manager: EntityManager, ms: number): Promise<void> {
  if (!manager.queryRunner?.isTransactionActive) throw new Error('setLocalStatementTimeout needs a transaction');
  await manager.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.trunc(ms))}`);
}

export function isStatementTimeout(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '57014';
}
