import { closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { EnvironmentVariables } from 'src/config/env.validation';
import { dataHome, readEnv } from 'src/config/orcaops.config';

/** Key material for SecretBox (src/common/crypto/secret-box.ts): seal with `primary`, still open `previous`. */
export interface SecretsKeyMaterial {
  primary: Buffer;
  previous: Buffer[];
  /** Where the primary key came from: the environment, or the key file (which rotate-key may replace). */
  source: 'env' | 'file';
  file: string;
}

/** Injection token of a loader (called on first use, so a server that never touches secrets writes no key file). */
export const SECRETS_KEYS = Symbol('SECRETS_KEYS');
export type SecretsKeysLoader = () => SecretsKeyMaterial;

export const secretsKeyFile = (env: EnvironmentVariables = readEnv()): string => join(dataHome(env), 'secrets.key');
/** A rotation writes the new key here before re-sealing and renames it over secrets.key after (rotate-key). */
export const nextKeyFile = (file: string): string => `${file}.next`;

function decodeKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  // Hex is still read: registry credentials were sealed under hex keys before the key paths were unified.
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new Error(`${where} must hold a 32-byte key in base64`);
  return key;
}

/**
 * Creates `file` holding `content` with mode 0600, never readable by others even briefly: O_EXCL
 * (refuses to follow or reuse an existing file), the mode set by open() itself, content written and
 * synced before anyone can rely on it. Returns false when the file already exists.
 */
export function createPrivateFile(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readKeyFile(file: string): Buffer {
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) throw new Error(`${file} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  return decodeKey(readFileSync(file, 'utf8'), file);
}

/**
 * The secrets key: ORCAOPS_SECRETS_KEY, else ORCAOPS_HOME/secrets.key, generated on first use. A
 * leftover secrets.key.next (a rotation interrupted after writing it) is kept as a previous key, so
 * values it already re-sealed still open.
 */
export function loadSecretsKeys(env: EnvironmentVariables = readEnv()): SecretsKeyMaterial {
  const file = secretsKeyFile(env);
  const previous = existsSync(nextKeyFile(file)) ? [readKeyFile(nextKeyFile(file))] : [];
  if (env.ORCAOPS_SECRETS_KEY) return { primary: decodeKey(env.ORCAOPS_SECRETS_KEY, 'ORCAOPS_SECRETS_KEY'), previous, source: 'env', file };
  mkdirSync(dataHome(env), { recursive: true, mode: 0o700 });
  // Two processes starting at once: O_EXCL lets one create it; the other reads that one.
  createPrivateFile(file, `${randomBytes(32).toString('base64')}\n`);
  return { primary: readKeyFile(file), previous, source: 'file', file };
}

/** Replaces secrets.key with secrets.key.next (the last step of a rotation; rename is atomic). */
export function promoteNextKey(file: string): void {
  renameSync(nextKeyFile(file), file);
}

export const secretsKeysProvider = {
  provide: SECRETS_KEYS,
  useFactory: (): SecretsKeysLoader => {
    // The environment as it is at boot; only the file is left for first use.
    const env = readEnv();
    let loaded: SecretsKeyMaterial | undefined;
    return () => (loaded ??= loadSecretsKeys(env));
  },
};
