import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { TEST_ADMIN_TOKEN } from './app';
import { api } from './http';

export interface SeededWorkspace {
  id: string;
  tokens: Record<'admin' | 'developer' | 'viewer' | 'ci', { id: string; token: string }>;
}

/** A workspace with one token per role, created through the API as an organisation admin would. */
export async function seedWorkspace(app: NestFastifyApplication, name: string): Promise<SeededWorkspace> {
  const ws = await api(app, 'POST', '/v1/workspaces', { token: TEST_ADMIN_TOKEN, body: { name } });
  if (ws.status !== 201) throw new Error(`seed workspace: ${ws.status} ${JSON.stringify(ws.body)}`);
  const tokens = {} as SeededWorkspace['tokens'];
  for (const role of ['admin', 'developer', 'viewer', 'ci'] as const) {
    const t = await api(app, 'POST', `/v1/workspaces/${ws.body.id}/tokens`, {
      token: TEST_ADMIN_TOKEN,
      body: { name: `${name}-${role}`, role },
    });
    if (t.status !== 201) throw new Error(`seed token: ${t.status} ${JSON.stringify(t.body)}`);
    tokens[role] = { id: t.body.id, token: t.body.token };
  }
  return { id: ws.body.id, tokens };
}
