import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { parseWorkflowRunQuery } from 'src/workflows/workflow-run-query';

describe('parseWorkflowRunQuery (workflow-run clean-up filters)', () => {
  const now = new Date('2026-12-07T00:00:00Z');

  it('should map age, status, session and fingerprint to run columns', () => {
    const f = parseWorkflowRunQuery('until:30d status:failed,timed_out session:11111111-1111-4111-8111-111111111111 fp:abcdef12', now);
    expect(f.created).toEqual([{ op: '<', at: new Date('2026-11-07T00:00:00Z') }]);
    expect(f.conclusions).toEqual(['failure']);
    expect(f.sessionId).toBe('11111111-1111-4111-8111-111111111111');
    expect(f.fingerprintPrefix).toBe('abcdef12');
  });

  it('should refuse what a workflow run does not have, an empty query and non-final statuses', () => {
    for (const q of ['image:orcaops/python', 'until:1d "Traceback"', '', 'status:running']) {
      expect(() => parseWorkflowRunQuery(q, now)).toThrow(OrcaOpsError);
    }
  });
});
