import { isUUID } from 'class-validator';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';

/** Opaque keyset cursor over (time, id), newest first: stable under inserts, no OFFSET scans. */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
}

/** A cursor comes from the client: anything but a well-formed time and id is a 400, not a query error. */
export function decodeCursor(cursor: string): [Date, string] {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const date = new Date(at ?? '');
  if (!id || !isUUID(id) || Number.isNaN(date.getTime())) {
    throw new OrcaOpsError('validation_failed', 'cursor is invalid', { fields: [{ field: 'cursor', messages: ['invalid cursor'] }] });
  }
  return [date, id];
}
