import { assertUnreachable, httpStatusFor } from 'src/common/errors/error-status';
import type { ErrorCode } from 'src/common/errors/orcaops.error';
import { ERROR_CODES } from 'src/common/errors/orcaops.error';

const EXPECTED: Record<ErrorCode, number> = {
  validation_failed: 400,
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  workspace_suspended: 403,
  workspace_archived: 403,
  workspace_token_required: 403,
  policy_denied: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  request_timeout: 408,
  unsupported_media_type: 415,
  quota_exceeded: 429,
  rate_limited: 429,
  engine_unavailable: 503,
  image_pull_failed: 424,
  service_unavailable: 503,
  bad_gateway: 502,
  insufficient_storage: 507,
  internal_error: 500,
};

describe('httpStatusFor', () => {
  it('should have an expected status for every error code, and no stale ones', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...ERROR_CODES].sort());
  });

  it.each(ERROR_CODES.map((code) => [code]))('should map %s to its status', (code) => {
    expect(httpStatusFor(code)).toBe(EXPECTED[code]);
  });

  it('should only answer 5xx for server-side conditions', () => {
    const serverSide = ERROR_CODES.filter((code) => httpStatusFor(code) >= 500);
    // bad_gateway: the upstream is the sandbox's own server (a preview port with nothing listening).
    expect(serverSide.sort()).toEqual(['bad_gateway', 'engine_unavailable', 'insufficient_storage', 'internal_error', 'service_unavailable']);
  });

  it('should throw on a code outside the union', () => {
    expect(() => httpStatusFor('teapot' as ErrorCode)).toThrow('Unreachable: teapot');
    expect(() => assertUnreachable('x' as never)).toThrow('Unreachable: x');
  });
});
