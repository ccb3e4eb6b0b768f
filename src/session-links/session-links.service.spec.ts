import type { TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import type { AgentSessionEntity } from 'src/session-links/entities/agent-session.entity';
import { SessionLinks } from 'src/session-links/session-links.service';
import { buildTenantContext } from 'src/tenancy/tenant-context.factory';

const ID = '5c1e0000-0000-4000-8000-000000000001';

function repository(rows: Record<string, Partial<AgentSessionEntity>>): { repo: TenantScopedRepository<AgentSessionEntity>; update: jest.Mock } {
  const update = jest.fn((ws: string, where: { id: string; status: string }) => Promise.resolve(rows[`${ws}/${where.id}`]?.status === where.status ? 1 : 0));
  const findOne = jest.fn((ws: string, where: { id: string }) => Promise.resolve(rows[`${ws}/${where.id}`] ?? null));
  return { repo: { update, findOne } as unknown as TenantScopedRepository<AgentSessionEntity>, update };
}

describe('SessionLinks', () => {
  const ctx = buildTenantContext({ kind: 'workspace', tokenId: 't', tokenName: 'dev', workspaceId: 'ws-a', role: 'developer' }, 'r', undefined, 'rest');

  it('resolves the body session before the header one, and refuses an ended session with 409', async () => {
    const { repo } = repository({ [`ws-a/${ID}`]: { status: 'open' }, 'ws-a/5c1e0000-0000-4000-8000-000000000002': { status: 'ended', endReason: 'idle' } });
    const links = new SessionLinks(repo);
    await expect(links.resolveForCreate({ ...ctx, sessionId: '5c1e0000-0000-4000-8000-000000000002' }, 'ws-a', ID)).resolves.toBe(ID);
    await expect(links.resolveForCreate({ ...ctx, sessionId: '5c1e0000-0000-4000-8000-000000000002' }, 'ws-a')).rejects.toMatchObject({
      code: 'conflict',
      details: { end_reason: 'idle' },
    });
    await expect(links.resolveForCreate(ctx, 'ws-a')).resolves.toBeNull();
  });

  it('answers 404 for another workspace’s session and for a malformed id', async () => {
    const { repo } = repository({ [`ws-a/${ID}`]: { status: 'open' } });
    const links = new SessionLinks(repo);
    await expect(links.touch('ws-b', ID)).rejects.toMatchObject({ code: 'not_found' });
    await expect(links.touch('ws-a', 'not-a-uuid')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('throttles header touches per workspace and session, but never skips another tenant’s check', async () => {
    const { repo, update } = repository({ [`ws-a/${ID}`]: { status: 'open' } });
    const links = new SessionLinks(repo);
    await links.touchThrottled('ws-a', ID);
    await links.touchThrottled('ws-a', ID.toUpperCase());
    expect(update).toHaveBeenCalledTimes(1);
    await expect(links.touchThrottled('ws-b', ID)).rejects.toMatchObject({ code: 'not_found' });
  });
});
