/** What a real server process (startServerProcess) answered: status, headers, and the body as JSON (or text). */
export interface ServerReply {
  status: number;
  headers: Headers;
  body: any; // JSON of any shape, asserted by the test
}

/** One request to a real server process, with a bearer token (or none) and a JSON body. */
export async function serverRequest(url: string, method: string, token: string | undefined, body?: unknown): Promise<ServerReply> {
  const response = await fetch(url, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    // Longer than any long-poll a test asks for (wait?timeout_seconds=60), shorter than a jest timeout.
    signal: AbortSignal.timeout(90_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}
