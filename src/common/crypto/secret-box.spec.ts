import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SecretBox } from 'src/common/crypto/secret-box';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips, never shows the plaintext, and uses a fresh nonce each time', () => {
    const a = box.seal('hunter2', 'ws-1');
    expect(a).not.toContain('hunter2');
    expect(box.seal('hunter2', 'ws-1')).not.toBe(a);
    expect(box.open(a, 'ws-1')).toBe('hunter2');
  });

  it('refuses a tampered value, another context and another key', () => {
    const sealed = box.seal('hunter2', 'ws-1');
    const parts = sealed.split('.');
    parts[3] = Buffer.from('x').toString('base64url');
    expect(() => box.open(parts.join('.'), 'ws-1')).toThrow();
    expect(() => box.open(sealed, 'ws-2')).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'ws-1')).toThrow('another key');
  });

  it('generates a 0600 key file once when ORCAOPS_SECRETS_KEY is unset', () => {
    const home = mkdtempSync(join(tmpdir(), 'orcaops-key-'));
    try {
      const sealed = SecretBox.fromEnvironment(undefined, home).seal('v');
      expect(statSync(join(home, 'secrets.key')).mode & 0o777).toBe(0o600);
      expect(SecretBox.fromEnvironment(undefined, home).open(sealed)).toBe('v');
      expect(() => SecretBox.fromEnvironment('short', home)).toThrow('32 bytes');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
