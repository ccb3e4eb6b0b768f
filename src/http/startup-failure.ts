import { EmbeddedPostgresPortTaken } from 'src/database/embedded-postgres';

/** What the server was starting with, to name the setting to change. */
export interface StartupSettings {
  host: string;
  port: number;
  databaseUrl?: string;
  home: string;
}

const DATABASE_CODES: Record<string, string> = {
  ECONNREFUSED: 'nothing answers there',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
  ETIMEDOUT: 'the connection timed out',
  '28P01': 'the password is wrong',
  '28000': 'the role may not log in',
  '3D000': 'the database does not exist',
};
const FILE_CODES = new Set(['EACCES', 'EPERM', 'ENOTDIR', 'EEXIST', 'EROFS', 'ENOSPC']);

/**
 * One line saying what stopped the server from starting and what to do (issue 20 item 7): the HTTP port
 * taken, the embedded PostgreSQL port taken, a database that cannot be reached, a data directory that
 * cannot be written. Anything else keeps its own message. Never prints a password.
 */
export function startupFailureMessage(error: unknown, settings: StartupSettings): string {
  const err = error as NodeJS.ErrnoException & { path?: string };
  if (error instanceof EmbeddedPostgresPortTaken) return `cannot start: ${error.message}`;
  if (err?.code === 'EADDRINUSE') {
    return `cannot start: port ${settings.port} on ${settings.host} is taken (another orcaops serve?): stop it, or set ORCAOPS_PORT (orcaops serve --port) to a free port`;
  }
  if (settings.databaseUrl && typeof err?.code === 'string' && err.code in DATABASE_CODES) {
    return `cannot start: the database at DATABASE_URL (${where(settings.databaseUrl)}) cannot be used: ${DATABASE_CODES[err.code]}; fix DATABASE_URL, or unset it to use the embedded PostgreSQL`;
  }
  if (typeof err?.code === 'string' && FILE_CODES.has(err.code) && (!err.path || err.path.startsWith(settings.home))) {
    return `cannot start: ORCAOPS_HOME (${settings.home}) is not a directory this user can write (${err.code}${err.path ? ` on ${err.path}` : ''}): set ORCAOPS_HOME to one`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `cannot start: ${message || (error as Error)?.constructor?.name || 'unknown error'}`;
}

/** host:port/database of a connection URL, without credentials. */
function where(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'unparseable URL';
  }
}
