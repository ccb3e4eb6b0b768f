import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TestApp } from './app';

const ROOT = join(__dirname, '..', '..');

/** Starts the test app's Fastify server on a loopback port (MCP clients need real HTTP). */
export async function listen(t: TestApp): Promise<string> {
  await t.app.listen(0, '127.0.0.1');
  const address = t.app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${address.port}`;
}

export interface ConnectedClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
}

/** The official SDK client over Streamable HTTP with a bearer token. */
export async function httpClient(baseUrl: string, token: string): Promise<ConnectedClient> {
  const transport = new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'orcaops-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/** The official SDK client over stdio, spawning `orcaops mcp` (the relay) from the TypeScript sources. */
export function stdioTransport(baseUrl: string, token: string, home: string, extraEnv: Record<string, string> = {}): StdioClientTransport {
  return new StdioClientTransport({
    command: process.execPath,
    args: ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(ROOT, 'src', 'cli', 'main.ts'), 'mcp'],
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      ORCAOPS_HOME: home,
      ORCAOPS_URL: baseUrl,
      ORCAOPS_TOKEN: token,
      TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
      ...extraEnv,
    },
    stderr: 'pipe',
  });
}
