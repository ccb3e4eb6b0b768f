import { createHash } from 'node:crypto';
import { hashesEqual, hashToken, issueToken, parseToken, randomBase62 } from 'src/tenancy/token-secret';

const BASE62 = /^[0-9A-Za-z]*$/;

describe('token secrets', () => {
  describe('issueToken', () => {
    it.each(['ws', 'org'] as const)('should issue orcaops_%s_<keyId:12>_<secret:32>', (kind) => {
      const issued = issueToken(kind);
      expect(issued.token).toMatch(new RegExp(`^orcaops_${kind}_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}$`));
      expect(issued.displayPrefix).toBe(`orcaops_${kind}_${issued.keyId}`);
      expect(issued.token.startsWith(`${issued.displayPrefix}_`)).toBe(true);
      expect(issued.hash.equals(hashToken(issued.token))).toBe(true);
    });

    it('should never show the secret in the display prefix', () => {
      const issued = issueToken('ws');
      expect(issued.displayPrefix).not.toContain(issued.token.slice(-32));
    });

    it('should issue a different key id and secret every time', () => {
      const tokens = Array.from({ length: 200 }, () => issueToken('ws'));
      expect(new Set(tokens.map((t) => t.token)).size).toBe(200);
      expect(new Set(tokens.map((t) => t.keyId)).size).toBe(200);
    });
  });

  describe('parseToken', () => {
    it('should round-trip an issued token', () => {
      const issued = issueToken('org');
      expect(parseToken(issued.token)).toEqual({ kind: 'org', keyId: issued.keyId, token: issued.token });
    });

    it.each([
      ['empty', ''],
      ['unknown kind', `orcaops_xx_${'a'.repeat(12)}_${'b'.repeat(32)}`],
      ['short key id', `orcaops_ws_${'a'.repeat(11)}_${'b'.repeat(32)}`],
      ['short secret', `orcaops_ws_${'a'.repeat(12)}_${'b'.repeat(31)}`],
      ['long secret', `orcaops_ws_${'a'.repeat(12)}_${'b'.repeat(33)}`],
      ['non-base62 character', `orcaops_ws_${'a'.repeat(12)}_${'b'.repeat(31)}-`],
      ['other prefix', `orcaopz_ws_${'a'.repeat(12)}_${'b'.repeat(32)}`],
      ['surrounding whitespace', ` orcaops_ws_${'a'.repeat(12)}_${'b'.repeat(32)}`],
      ['trailing newline', `orcaops_ws_${'a'.repeat(12)}_${'b'.repeat(32)}\n`],
    ])('should reject a token with %s', (_name, token) => {
      expect(parseToken(token)).toBeUndefined();
    });
  });

  describe('hashToken / hashesEqual', () => {
    it('should be SHA-256 of the whole token', () => {
      const token = issueToken('ws').token;
      expect(hashToken(token).toString('hex')).toBe(createHash('sha256').update(token).digest('hex'));
      expect(hashToken('abc').toString('hex')).toBe(
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      );
    });

    it('should compare equal hashes as equal and anything else as different', () => {
      const a = hashToken('a');
      expect(hashesEqual(a, hashToken('a'))).toBe(true);
      expect(hashesEqual(a, hashToken('b'))).toBe(false);
      expect(hashesEqual(a, a.subarray(0, 16))).toBe(false);
      expect(hashesEqual(a, Buffer.alloc(0))).toBe(false);
    });
  });

  describe('randomBase62', () => {
    it.each([0, 1, 12, 32, 61, 62, 1000])('should return exactly %i base62 characters', (length) => {
      const value = randomBase62(length);
      expect(value).toHaveLength(length);
      expect(value).toMatch(BASE62);
    });

    it('should be unbiased: every character about equally likely (chi-squared)', () => {
      const perSymbol = 2000;
      const counts = new Map<string, number>();
      for (const char of randomBase62(62 * perSymbol)) counts.set(char, (counts.get(char) ?? 0) + 1);
      expect(counts.size).toBe(62);
      const chiSquared = [...counts.values()].reduce((sum, n) => sum + (n - perSymbol) ** 2 / perSymbol, 0);
      // 61 degrees of freedom: P(chi² > 125) < 1e-5 for a fair source. `byte % 62` without rejection
      // favours the first 8 symbols by 25% and scores about 700 here.
      expect(chiSquared).toBeLessThan(125);
    });
  });
});
