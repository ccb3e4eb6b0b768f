import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Encryption at rest for workspace secrets (registry passwords; issue 13): AES-256-GCM from node:crypto,
 * a fresh 96-bit nonce per value, the 128-bit tag checked on open. A sealed value is
 * `v1.<key id>.<nonce>.<ciphertext>.<tag>` (base64url), so a value sealed under another key is told
 * apart from a tampered one and a key rotation can find what to re-seal.
 *
 * The key (32 bytes) comes from ORCAOPS_SECRETS_KEY (base64 or hex), or else from
 * `$ORCAOPS_HOME/secrets.key`, generated once with mode 0600.
 */
export class SecretBox {
  private readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the secrets key must be 32 bytes (AES-256)');
    // Not secret: identifies the key without revealing it.
    this.keyId = createHash('sha256').update(key).digest('base64url').slice(0, 8);
  }

  seal(plaintext: string, context = ''): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    // The context (e.g. workspace id + host) is authenticated: a value copied to another row does not open.
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', this.keyId, nonce.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  open(sealed: string, context = ''): string {
    const [version, keyId, nonce, body, tag] = sealed.split('.');
    if (version !== 'v1' || nonce === undefined || body === undefined || tag === undefined) throw new Error('not a sealed value');
    if (keyId !== this.keyId) throw new Error('sealed under another key');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** The key from ORCAOPS_SECRETS_KEY, or the 0600 key file in `home` (created when missing). */
  static fromEnvironment(envKey: string | undefined, home: string): SecretBox {
    if (envKey) return new SecretBox(parseKey(envKey));
    const file = join(home, 'secrets.key');
    if (!existsSync(file)) {
      mkdirSync(home, { recursive: true, mode: 0o700 });
      // wx: two processes starting at once cannot both write a key (the loser reads the winner's).
      try {
        writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return new SecretBox(parseKey(readFileSync(file, 'utf8').trim()));
  }
}

function parseKey(text: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) throw new Error('ORCAOPS_SECRETS_KEY must be 32 bytes, base64 or hex encoded');
  return key;
}
