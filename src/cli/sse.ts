import type { ApiClient } from 'src/cli/api-client';

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Parses a text/event-stream body into events (comments and keep-alives skipped). */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const event: SseEvent = { event: 'message', data: '' };
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') event.id = value;
          else if (field === 'event') event.event = value;
          else if (field === 'data') event.data += event.data ? `\n${value}` : value;
        }
        if (event.data || event.id) yield event;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Follows a job's log stream to its end event, reconnecting with Last-Event-ID if the connection
 * drops (the server resumes exactly after the last event received).
 */
export async function* followJobLogs(client: ApiClient, jobId: string, signal?: AbortSignal): AsyncGenerator<SseEvent> {
  let lastId = '0';
  for (let attempt = 0; attempt < 20 && !signal?.aborted; attempt++) {
    const response = await client.raw('GET', `/v1/jobs/${jobId}/logs`, undefined, {
      headers: { accept: 'text/event-stream', 'last-event-id': lastId },
      signal,
    });
    try {
      for await (const event of parseSse(response.body!)) {
        if (event.id) lastId = event.id;
        yield event;
        if (event.event === 'end') return;
      }
    } catch (error) {
      if (signal?.aborted) return;
      if (attempt === 19) throw error;
    }
    await new Promise((r) => setTimeout(r, Math.min(2000, 200 * (attempt + 1))));
  }
}
