import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Unbiased base62 string of `length` characters from the CSPRNG. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

export type TokenKind = 'ws' | 'org';

export interface IssuedToken {
  /** The full token, shown to the caller once. */
  token: string;
  keyId: string;
  hash: Buffer;
  displayPrefix: string;
}

/**
 * Format: orcaops_<kind>_<keyId:12>_<secret:32>. The secret has ~190 bits of entropy, so a plain
 * SHA-256 is the right hash (no slow KDF per request); the key id is the indexed lookup key.
 */
export function issueToken(kind: TokenKind): IssuedToken {
  const keyId = randomBase62(12);
  const token = `orcaops_${kind}_${keyId}_${randomBase62(32)}`;
  return { token, keyId, hash: hashToken(token), displayPrefix: `orcaops_${kind}_${keyId}` };
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export interface ParsedToken {
  kind: TokenKind;
  keyId: string;
  token: string;
}

const TOKEN_PATTERN = /^orcaops_(ws|org)_([0-9A-Za-z]{12})_([0-9A-Za-z]{32})$/;

export function parseToken(token: string): ParsedToken | undefined {
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return undefined;
  return { kind: match[1] as TokenKind, keyId: match[2]!, token };
}

export function hashesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
