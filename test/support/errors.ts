import type { ApiResponse } from './http';

/** Asserts the one error shape every failure uses: {error: {code, message, request_id, details?}}. */
export function expectError(res: ApiResponse, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expectErrorShape(res);
}

export function expectErrorShape(res: ApiResponse): void {
  expect(String(res.headers['content-type'])).toContain('application/json');
  expect(Object.keys(res.body)).toEqual(['error']);
  expect(res.body.error).toEqual({
    code: expect.any(String),
    message: expect.any(String),
    request_id: res.headers['x-request-id'],
    ...(res.body.error.details === undefined ? {} : { details: res.body.error.details }),
  });
}

/** An error body without its request id, with the given ids replaced by stable placeholders. */
export function comparableError(res: ApiResponse, ids: Record<string, string> = {}): unknown {
  const { request_id: _requestId, ...error } = res.body.error ?? {};
  let text = JSON.stringify({ status: res.status, error });
  for (const [placeholder, id] of Object.entries(ids)) text = text.split(id).join(placeholder);
  return JSON.parse(text);
}
