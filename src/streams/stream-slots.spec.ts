import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { StreamSlots } from 'src/streams/stream-slots';
import type { TenantContext } from 'src/tenancy/tenant-context';

const ctx = (tokenId: string, workspaceId?: string): TenantContext => ({
  principal: workspaceId
    ? { kind: 'workspace', tokenId, tokenName: tokenId, workspaceId, role: 'developer' }
    : { kind: 'organisation', tokenId, tokenName: tokenId },
  permissions: new Set(),
  requestId: 'r',
  via: 'rest',
});

describe('StreamSlots', () => {
  const limits = { perToken: 2, perWorkspace: 3, total: 4 };
  const slots = (): StreamSlots => Object.assign(new StreamSlots(), { limits });

  it('should cap per token, then per workspace, naming the cap, and give slots back once', () => {
    const s = slots();
    const a1 = s.acquire(ctx('a', 'w'));
    s.acquire(ctx('a', 'w'));
    expect(() => s.acquire(ctx('a', 'w'))).toThrow(expect.objectContaining({ code: 'rate_limited', details: expect.objectContaining({ limit: 'streams_per_token', max: 2, retry_after_seconds: 5 }) }));
    s.acquire(ctx('b', 'w'));
    let error: unknown;
    try {
      s.acquire(ctx('c', 'w'));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OrcaOpsError);
    expect((error as OrcaOpsError).message).toMatch(/at most 3 .*ORCAOPS_STREAMS_PER_WORKSPACE/);
    // Another workspace is not affected by this one's cap.
    s.acquire(ctx('d', 'other'));
    expect(s.open).toBe(4);
    a1();
    a1();
    expect(s.open).toBe(3);
    expect(() => s.acquire(ctx('c', 'w'))).not.toThrow();
  });

  it('should count organisation tokens per token and in the total only', () => {
    const s = slots();
    s.acquire(ctx('org'));
    s.acquire(ctx('org'));
    expect(() => s.acquire(ctx('org'))).toThrow(/this token/);
    s.acquire(ctx('x', 'w1'));
    s.acquire(ctx('y', 'w2'));
    expect(() => s.acquire(ctx('z', 'w3'))).toThrow(/ORCAOPS_STREAMS_TOTAL/);
  });
});
