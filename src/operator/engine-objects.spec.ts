import type { OrphanFacts, RawEngineObject } from 'src/operator/engine-objects';
import { describeObject, kindOf, orphanReason } from 'src/operator/engine-objects';

const INSTALL = '11111111-1111-4111-8111-111111111111';
const JOB = '22222222-2222-4222-8222-222222222222';
const SANDBOX = '33333333-3333-4333-8333-333333333333';

const facts = (over: Partial<OrphanFacts> = {}): OrphanFacts => ({
  installationId: INSTALL,
  hostname: 'host-a',
  existing: new Set([JOB, SANDBOX]),
  endedSandboxes: new Set(),
  goneOwners: new Set(['dead-server']),
  homeExists: (path) => path === '/home/live',
  ...over,
});

const container = (labels: Record<string, string>): RawEngineObject => ({ type: 'container', id: 'c1', name: 'n', status: 'running', labels: { 'orcaops.managed': 'true', ...labels } });

describe('engine objects (operator views)', () => {
  it('should leave live objects of this installation alone', () => {
    expect(orphanReason(container({ 'orcaops.install': INSTALL, 'orcaops.kind': 'job', 'orcaops.job_id': JOB }), facts())).toBeNull();
    expect(orphanReason(container({ 'orcaops.install': INSTALL, 'orcaops.kind': 'pool', 'orcaops.pool_owner': 'live-server' }), facts())).toBeNull();
  });

  it('should call an object whose record is gone or whose sandbox ended an orphan', () => {
    expect(orphanReason(container({ 'orcaops.install': INSTALL, 'orcaops.kind': 'job', 'orcaops.job_id': '44444444-4444-4444-8444-444444444444' }), facts())).toBe('record_gone');
    const sandbox = container({ 'orcaops.install': INSTALL, 'orcaops.kind': 'sandbox', 'orcaops.sandbox_id': SANDBOX });
    expect(orphanReason(sandbox, facts({ endedSandboxes: new Set([SANDBOX]) }))).toBe('record_ended');
  });

  it('should call a pool container whose server is gone an orphan', () => {
    expect(orphanReason(container({ 'orcaops.install': INSTALL, 'orcaops.kind': 'pool', 'orcaops.pool_owner': 'dead-server' }), facts())).toBe('pool_owner_gone');
  });

  it('should judge another installation by its data directory, only on the host that made it', () => {
    const foreign = (home: string, host = 'host-a') => container({ 'orcaops.install': 'other', 'orcaops.kind': 'pool', 'orcaops.home': home, 'orcaops.host': host });
    expect(orphanReason(foreign('/home/gone'), facts())).toBe('installation_gone');
    expect(orphanReason(foreign('/home/live'), facts())).toBeNull();
    expect(orphanReason(foreign('/home/gone', 'host-b'), facts())).toBeNull();
    // No home label (an older server): unknown, never an orphan.
    expect(orphanReason(container({ 'orcaops.install': 'other', 'orcaops.kind': 'pool' }), facts())).toBeNull();
  });

  it('should never call an object without an installation label an orphan (the shared egress network)', () => {
    const egress: RawEngineObject = { type: 'network', id: 'orcaops-egress', name: 'orcaops-egress', labels: { 'orcaops.managed': 'true' } };
    expect(kindOf(egress)).toBe('egress');
    expect(orphanReason(egress, facts())).toBeNull();
  });

  it('should name kinds from labels and compute the age', () => {
    const net: RawEngineObject = { type: 'network', id: 'x', name: 'x', labels: { 'orcaops.install': INSTALL, 'orcaops.role': 'network' }, createdAt: '2026-01-01T00:00:00.000Z' };
    const described = describeObject(net, facts(), Date.parse('2026-01-01T00:01:30.000Z'));
    expect(described).toMatchObject({ kind: 'workflow_network', ageSeconds: 90, thisInstallation: true, orphan: false, workspaceId: null });
  });
});
