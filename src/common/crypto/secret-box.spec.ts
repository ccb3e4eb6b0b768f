import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { keyIdOf, SecretBox } from 'src/common/crypto/secret-box';

describe('SecretBox', () => {
  const key = randomBytes(32);
  const box = new SecretBox({ primary: key, previous: [] });

  it('round-trips a value, with a fresh IV each time and no plaintext in the sealed form', () => {
    const a = box.seal('correct horse battery staple');
    const b = box.seal('correct horse battery staple');
    expect(a).not.toBe(b);
    expect(a).not.toContain('horse');
    expect(a.startsWith(`v1:${keyIdOf(key)}:`)).toBe(true);
    expect(box.open(a)).toBe('correct horse battery staple');
    expect(box.open(box.seal(''))).toBe('');
    expect(box.open(box.seal('ünïcødé ✓'))).toBe('ünïcødé ✓');
  });

  it('refuses a tampered value, a value bound to another context and an unknown key', () => {
    const sealed = box.seal('value', 'row-1');
    const parts = sealed.split(':');
    const body = Buffer.from(parts[4]!, 'base64');
    body[0]! ^= 1;
    parts[4] = body.toString('base64');
    expect(() => box.open(parts.join(':'))).toThrow();
    expect(() => box.open(sealed, 'row-2')).toThrow();
    expect(box.open(sealed, 'row-1')).toBe('value');
    expect(() => new SecretBox({ primary: randomBytes(32), previous: [] }).open(sealed, 'row-1')).toThrow(/unknown key/);
  });

  it('opens values of a previous key and seals with the primary (rotation)', () => {
    const next = randomBytes(32);
    const rotated = new SecretBox({ primary: next, previous: [key] });
    const old = box.seal('v');
    expect(rotated.open(old)).toBe('v');
    expect(SecretBox.keyIdOfSealed(rotated.seal('v'))).toBe(keyIdOf(next));
    expect(rotated.primaryKeyId).toBe(keyIdOf(next));
  });

  it('loads its keys lazily and rejects keys that are not 32 bytes', () => {
    const loader = jest.fn(() => ({ primary: key, previous: [] }));
    const lazy = new SecretBox(loader);
    expect(loader).not.toHaveBeenCalled();
    lazy.open(lazy.seal('x'));
    expect(loader).toHaveBeenCalledTimes(1);
    expect(() => new SecretBox({ primary: randomBytes(16), previous: [] }).seal('x')).toThrow(/32 bytes/);
  });

  it('still opens registry passwords sealed in the pre-unification form (v1.<keyId>.<nonce>.<body>.<tag>)', () => {
    // What the registry branch's SecretBox wrote: base64url fields, an 8-character key id, the context as AAD.
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.from('registry_credential:ws:ghcr.io'));
    const body = Buffer.concat([cipher.update('hunter2', 'utf8'), cipher.final()]);
    const legacyId = createHash('sha256').update(key).digest('base64url').slice(0, 8);
    const legacy = ['v1', legacyId, nonce.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    expect(box.open(legacy, 'registry_credential:ws:ghcr.io')).toBe('hunter2');
    expect(new SecretBox({ primary: randomBytes(32), previous: [key] }).open(legacy, 'registry_credential:ws:ghcr.io')).toBe('hunter2');
    expect(() => box.open(legacy, 'registry_credential:other:ghcr.io')).toThrow();
    expect(() => new SecretBox({ primary: randomBytes(32), previous: [] }).open(legacy, 'registry_credential:ws:ghcr.io')).toThrow(/unknown key/);
    // Not the current form's key id: rotation re-seals it.
    expect(SecretBox.keyIdOfSealed(legacy)).not.toBe(box.primaryKeyId);
  });
});
