import { clientResponseHeaders, filterResponseHead, upstreamRequestHeaders } from 'src/sandboxes/previews/preview-headers';

describe('preview headers', () => {
  it('should not forward the caller token, cookies or hop-by-hop headers to the sandbox', () => {
    const out = upstreamRequestHeaders(
      { authorization: 'Bearer secret', cookie: 'a=b', host: 'api.example', connection: 'keep-alive', 'x-orcaops-session': 's', accept: 'text/html' },
      3000,
      '/v1/previews/t',
    );
    expect(out).toEqual({ accept: 'text/html', host: 'localhost:3000', 'x-forwarded-prefix': '/v1/previews/t', connection: 'close' });
  });

  it('should keep Upgrade and Connection for a WebSocket handshake', () => {
    const out = upstreamRequestHeaders({ connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'k' }, 9000, '/p', true);
    expect(out).toMatchObject({ connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'k', host: 'localhost:9000' });
  });

  it('should drop origin-wide response headers and add the sandbox CSP, keeping the server CSP too', () => {
    const out = clientResponseHeaders({
      'set-cookie': ['a=1'],
      'service-worker-allowed': '/',
      'strict-transport-security': 'max-age=1',
      'content-type': 'text/html',
      'content-security-policy': "default-src 'self'",
      'transfer-encoding': 'chunked',
    });
    expect(out['set-cookie']).toBeUndefined();
    expect(out['service-worker-allowed']).toBeUndefined();
    expect(out['strict-transport-security']).toBeUndefined();
    expect(out['transfer-encoding']).toBeUndefined();
    expect(out['content-type']).toBe('text/html');
    expect(out['content-security-policy']).toBe("default-src 'self', sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads");
    expect(out['referrer-policy']).toBe('no-referrer');
  });

  it('should drop Set-Cookie from a WebSocket handshake answer', () => {
    const head = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSet-Cookie: x=1\r\nSec-WebSocket-Accept: abc';
    expect(filterResponseHead(head)).toBe('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: abc');
  });
});
