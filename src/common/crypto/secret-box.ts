import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** The key material a SecretBox seals with (primary) and can still open (previous: during a rotation). */
export interface SecretKeys {
  primary: Buffer;
  previous: Buffer[];
}

const FORMAT = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The older registry form: `v1.` and four base64url fields (the current form uses `:`). */
const LEGACY = /^v1\.[\w-]+\.[\w-]+\.[\w-]*\.[\w-]+$/;
const legacyKeyIdOf = (key: Buffer): string => createHash('sha256').update(key).digest('base64url').slice(0, 8);

/** A key's public id: enough of its SHA-256 to tell keys apart, nothing to recover it from. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * Authenticated encryption of small values at rest (secrets, registry passwords): AES-256-GCM with a
 * random 96-bit IV per value. A sealed value is `v1:<keyId>:<iv>:<tag>:<ciphertext>` (base64), so
 * values sealed under an older key stay readable while `rotate-key` re-seals them. `aad` binds a value
 * to where it is stored (e.g. its row), so a ciphertext copied to another row does not open.
 *
 * One box (SecretBoxModule) and one key (src/config/secrets-key.ts) serve both secrets and registry
 * passwords. Registry passwords sealed before the two were unified use the older
 * `v1.<keyId>.<nonce>.<ciphertext>.<tag>` form (base64url, 8-character key id); `open` still reads it
 * (same cipher, same key), `seal` writes only the current form, and `rotate-secrets-key` re-seals them.
 */
export class SecretBox {
  private loaded?: { primary: { id: string; key: Buffer }; byId: Map<string, Buffer> };

  /** `keys` may be a loader: the key file is then only read (or created) on first use. */
  constructor(private readonly keys: SecretKeys | (() => SecretKeys)) {}

  /** The id of the key new values are sealed with. */
  get primaryKeyId(): string {
    return this.ring().primary.id;
  }

  seal(plaintext: string, aad = ''): string {
    const { primary } = this.ring();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', primary.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [FORMAT, primary.id, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
  }

  open(sealed: string, aad = ''): string {
    if (LEGACY.test(sealed)) return this.openLegacy(sealed, aad);
    const [format, keyId, iv, tag, body] = sealed.split(':');
    if (format !== FORMAT || !keyId || iv === undefined || tag === undefined || body === undefined) throw new Error('not a sealed value');
    const key = this.ring().byId.get(keyId);
    if (!key) throw new Error(`sealed with an unknown key (${keyId}); is ORCAOPS_SECRETS_KEY the key it was sealed with?`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  }

  /** The key id a sealed value names (without opening it). */
  static keyIdOfSealed(sealed: string): string {
    return sealed.split(':')[1] ?? '';
  }

  /** The pre-unification registry form (see the class comment). */
  private openLegacy(sealed: string, aad: string): string {
    const [, keyId, nonce, body, tag] = sealed.split('.') as [string, string, string, string, string];
    const key = [...this.ring().byId.values()].find((k) => legacyKeyIdOf(k) === keyId);
    if (!key) throw new Error(`sealed with an unknown key (${keyId}); is ORCAOPS_SECRETS_KEY the key it was sealed with?`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }

  private ring(): NonNullable<SecretBox['loaded']> {
    if (this.loaded) return this.loaded;
    const keys = typeof this.keys === 'function' ? this.keys() : this.keys;
    for (const key of [keys.primary, ...keys.previous]) if (key.length !== 32) throw new Error('a secrets key must be 32 bytes');
    const byId = new Map([keys.primary, ...keys.previous].map((k) => [keyIdOf(k), k] as const));
    this.loaded = { primary: { id: keyIdOf(keys.primary), key: keys.primary }, byId };
    return this.loaded;
  }
}
