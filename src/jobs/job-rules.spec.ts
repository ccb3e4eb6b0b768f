import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import type { StepResult } from 'src/jobs/job-model';
import { artifactPatternProblem, canTransition, classifyOutcome, normalizeSpec, shouldRemoveContainer } from 'src/jobs/job-rules';

const step = (index: number, status: StepResult['status'], exit: number | null, continueOnError = false): StepResult => ({
  index,
  name: `step ${index + 1}`,
  status,
  continue_on_error: continueOnError,
  exit_code: exit,
  started_at: null,
  finished_at: null,
  duration_ms: null,
});

const facts = (steps: StepResult[], extra: Partial<Parameters<typeof classifyOutcome>[0]> = {}) => ({
  steps,
  cancelled: false,
  deadlineExceeded: false,
  oomKilled: false,
  ...extra,
});

describe('normalizeSpec', () => {
  it('should turn a command into one step and fill defaults', () => {
    const spec = normalizeSpec({ image: 'orcaops/busybox', command: 'echo hi' });
    expect(spec.steps).toEqual([{ command: 'echo hi' }]);
    expect(spec).toMatchObject({ network: 'none', timeout_seconds: 1800, cleanup_policy: 'remove_on_completion' });
    expect(spec.resources).toEqual({ cpu: 1, memory_mb: 512, pids: 128, disk_mb: 256 });
  });

  it('should keep given resources and default the rest', () => {
    expect(normalizeSpec({ image: 'x', command: 'true', resources: { memory_mb: 64 } }).resources.memory_mb).toBe(64);
  });

  it('should reject a job with neither steps nor command', () => {
    expect(() => normalizeSpec({ image: 'x' })).toThrow(OrcaOpsError);
  });

  it('should reject both command and steps', () => {
    const attempt = (): unknown => normalizeSpec({ image: 'x', command: 'a', steps: [{ command: 'b' }] });
    expect(attempt).toThrow(OrcaOpsError);
    expect(() => attempt()).toThrow(expect.objectContaining({ code: 'validation_failed' }) as Error);
  });

  it('should reject a step with both command and args', () => {
    expect(() => normalizeSpec({ image: 'x', steps: [{ command: 'a', args: ['b'] }] })).toThrow(OrcaOpsError);
  });
});

describe('artifactPatternProblem', () => {
  it.each([
    ['out/*.txt', undefined],
    ['/workspace/out/a', undefined],
    ['/tmp/report.json', undefined],
    ['../etc/passwd', 'artifact paths may not contain ".."'],
    ['/etc/passwd', 'absolute artifact paths must be under /workspace or /tmp'],
  ])('%s', (pattern, problem) => {
    expect(artifactPatternProblem(pattern)).toBe(problem);
  });
});

describe('classifyOutcome', () => {
  it('should succeed when every step succeeded', () => {
    expect(classifyOutcome(facts([step(0, 'succeeded', 0)]))).toMatchObject({ status: 'succeeded', reason: 'completed', exitCode: 0 });
  });

  it('should fail with step_failed and the failing exit code', () => {
    const outcome = classifyOutcome(facts([step(0, 'succeeded', 0), step(1, 'failed', 3), step(2, 'skipped', null)]));
    expect(outcome).toMatchObject({ status: 'failed', reason: 'step_failed', exitCode: 3 });
  });

  it('should succeed past a failing step marked continue_on_error', () => {
    expect(classifyOutcome(facts([step(0, 'failed', 1, true), step(1, 'succeeded', 0)])).status).toBe('succeeded');
  });

  it('should prefer cancel over the kill exit code', () => {
    expect(classifyOutcome(facts([step(0, 'cancelled', 137)], { cancelled: true }))).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
  });

  it('should report a timeout, not a failure, when the server killed the step', () => {
    expect(classifyOutcome(facts([step(0, 'timed_out', 137)]))).toMatchObject({ status: 'timed_out', reason: 'timeout' });
    expect(classifyOutcome(facts([step(0, 'failed', 137)], { deadlineExceeded: true })).status).toBe('timed_out');
  });

  it('should call a failed step out of memory only when the OOM flag is set', () => {
    expect(classifyOutcome(facts([step(0, 'failed', 137)], { oomKilled: true })).reason).toBe('oom_killed');
    expect(classifyOutcome(facts([step(0, 'failed', 137)])).reason).toBe('step_failed');
  });

  it('should not call a successful job OOM-killed because a grandchild was', () => {
    expect(classifyOutcome(facts([step(0, 'succeeded', 0)], { oomKilled: true })).status).toBe('succeeded');
  });

  it('should fail an otherwise successful job whose artifacts could not be collected', () => {
    expect(classifyOutcome(facts([step(0, 'succeeded', 0)], { artifactError: 'boom' })).reason).toBe('artifact_error');
  });
});

describe('transitions', () => {
  it('should allow exactly one terminal state', () => {
    expect(canTransition('queued', 'running')).toBe(true);
    expect(canTransition('running', 'succeeded')).toBe(true);
    expect(canTransition('succeeded', 'failed')).toBe(false);
    expect(canTransition('cancelled', 'running')).toBe(false);
  });

  it('should let a job held for approval only be queued (approved) or cancelled (rejected, expired), never run directly', () => {
    expect(canTransition('awaiting_approval', 'queued')).toBe(true);
    expect(canTransition('awaiting_approval', 'cancelled')).toBe(true);
    expect(canTransition('awaiting_approval', 'running')).toBe(false);
    expect(canTransition('queued', 'awaiting_approval')).toBe(false);
  });
});

describe('shouldRemoveContainer', () => {
  it.each([
    ['always_remove', 'failed', true],
    ['remove_on_completion', 'succeeded', true],
    ['remove_on_completion', 'failed', false],
    ['remove_on_completion', 'timed_out', false],
    ['keep_on_completion', 'succeeded', false],
    ['keep_on_completion', 'timed_out', true],
    ['remove_on_timeout', 'failed', false],
    ['remove_on_timeout', 'timed_out', true],
    ['never_remove', 'timed_out', false],
  ] as const)('%s after %s → remove=%s', (policy, status, expected) => {
    expect(shouldRemoveContainer(policy, status)).toBe(expected);
  });
});
