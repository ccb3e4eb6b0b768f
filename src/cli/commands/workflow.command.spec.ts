import { exitCodeForRun, renderTree } from 'src/cli/commands/workflow.command';

const inst = (display_name: string, status: string, extra: Record<string, unknown> = {}) => ({ key: display_name, display_name, status, reason: null, message: null, job_id: null, attempt: 1, ...extra });

describe('workflow CLI rendering', () => {
  const run = {
    id: 'r1',
    name: 'ci',
    status: 'running',
    conclusion: null,
    jobs: [
      { id: 'build', name: 'build', phase: 'expanded', result: 'success', message: null, instances: [inst('build', 'succeeded')] },
      {
        id: 'test',
        name: 'test',
        phase: 'expanded',
        result: null,
        message: null,
        instances: [inst('test (1)', 'failed', { reason: 'timed_out', message: 'step 1 timed out\nmore' }), inst('test (2)', 'running')],
      },
      { id: 'deploy', name: 'deploy', phase: 'pending', result: null, message: null, instances: [] },
    ],
  };

  it('draws jobs with status symbols and indents matrix instances', () => {
    expect(renderTree(run)).toEqual([
      'ci  running  (r1)',
      '  ✓ build',
      '  ◐ test [running]',
      '    ✗ test (1) [failed: timed_out]',
      '        step 1 timed out',
      '    ◐ test (2) [running]',
      '  · deploy [pending]',
    ]);
  });

  it('maps conclusions to exit codes', () => {
    expect(exitCodeForRun({ ...run, conclusion: 'success' })).toBe(0);
    expect(exitCodeForRun({ ...run, conclusion: 'failure' })).toBe(1);
    expect(exitCodeForRun({ ...run, conclusion: 'cancelled' })).toBe(130);
  });
});
