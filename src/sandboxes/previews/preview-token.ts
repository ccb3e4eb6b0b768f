import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A preview URL's token: `<workspaceId>.<previewId>.<secret>`, each id as its 16 bytes in base64url
 * (89 characters in all: a path segment stays under Fastify's 100-character parameter limit). The ids let the server find the row
 * through the workspace-scoped repository (no lookup across workspaces); the 256-bit random secret is
 * what makes it unguessable, and only its sha256 is stored. A forged or mangled token finds no row.
 */
export interface PreviewToken {
  workspaceId: string;
  previewId: string;
  secret: string;
}

const TOKEN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

function packUuid(uuid: string): string {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
}

function unpackUuid(packed: string): string | undefined {
  const hex = Buffer.from(packed, 'base64url').toString('hex');
  if (hex.length !== 32) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function mintPreviewSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashPreviewSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function formatPreviewToken(token: PreviewToken): string {
  return `${packUuid(token.workspaceId)}.${packUuid(token.previewId)}.${token.secret}`;
}

export function parsePreviewToken(text: string): PreviewToken | undefined {
  const match = TOKEN.exec(text);
  const workspaceId = match && unpackUuid(match[1]!);
  const previewId = match && unpackUuid(match[2]!);
  if (!match || !workspaceId || !previewId) return undefined;
  return { workspaceId, previewId, secret: match[3]! };
}

/** Constant-time comparison of a presented secret with the stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const given = Buffer.from(hashPreviewSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}
