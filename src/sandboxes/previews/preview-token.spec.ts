import { formatPreviewToken, hashPreviewSecret, mintPreviewSecret, parsePreviewToken, secretMatches } from 'src/sandboxes/previews/preview-token';

describe('preview tokens', () => {
  const ids = { workspaceId: '0f8fad5b-d9cb-469f-a165-70867728950e', previewId: '7c9e6679-7425-40de-944b-e07fc1f90ae7' };

  it('should round-trip the ids and secret in one path segment under 100 characters', () => {
    const secret = mintPreviewSecret();
    const text = formatPreviewToken({ ...ids, secret });
    expect(text.length).toBeLessThan(100);
    expect(text).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(parsePreviewToken(text)).toEqual({ ...ids, secret });
  });

  it('should refuse mangled tokens', () => {
    const text = formatPreviewToken({ ...ids, secret: mintPreviewSecret() });
    expect(parsePreviewToken(text.slice(1))).toBeUndefined();
    expect(parsePreviewToken(`${text}x`)).toBeUndefined();
    expect(parsePreviewToken('a.b.c')).toBeUndefined();
  });

  it('should compare a presented secret with the stored hash only', () => {
    const secret = mintPreviewSecret();
    expect(secretMatches(secret, hashPreviewSecret(secret))).toBe(true);
    expect(secretMatches(mintPreviewSecret(), hashPreviewSecret(secret))).toBe(false);
  });
});
