import { Logger } from '@nestjs/common';
import { ERROR_CODES, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { diagnosticsHint, recoveryHint, toToolError } from 'src/mcp/tool-errors';

describe('MCP tool errors', () => {
  const logger = new Logger('test');

  it('gives every error code a recovery hint', () => {
    for (const code of ERROR_CODES) expect(recoveryHint(code).length).toBeGreaterThan(20);
    expect(recoveryHint('policy_denied')).toMatch(/Do not retry it unchanged/);
  });

  it('keeps the code, message and details of an OrcaOpsError', () => {
    const result = toToolError(new OrcaOpsError('quota_exceeded', 'Too many sandboxes', { limit: 2 }), logger);
    expect(result.isError).toBe(true);
    expect(result.content).toEqual([{ type: 'text', text: expect.stringMatching(/^Error \(quota_exceeded\): Too many sandboxes\nWhat to do: .*delete_sandbox.*\nDetails: \{"limit":2\}$/s) }]);
    expect(result._meta).toEqual({ 'orcaops/error': { code: 'quota_exceeded', details: { limit: 2 } } });
  });

  it('lists a workflow\'s validation diagnostics as file:line:column for the model to fix', () => {
    const details = { diagnostics: [{ file: 'wf.yml', line: 3, column: 20, code: 'unknown-need', path: 'jobs.deploy.needs', message: "Job 'deploy' depends on unknown job 'buld'.", text: "wf.yml:3:20: Job 'deploy' depends on unknown job 'buld'." }] };
    const text = (toToolError(new OrcaOpsError('validation_failed', 'The workflow has 1 error', details), logger).content[0] as { text: string }).text;
    expect(text).toMatch(/What to do: The workflow YAML is invalid.*call run_workflow again.*\n {2}wf\.yml:3:20: Job 'deploy' depends on unknown job 'buld'\.\nDetails: /s);
    expect(diagnosticsHint({ fields: [] })).toBeUndefined();
  });

  it('hides an unexpected error behind an error id, and logs it', () => {
    const error = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    const result = toToolError(new Error('secret stack detail'), logger);
    const text = (result.content[0] as { text: string }).text;
    expect(text).toMatch(/^Error \(internal_error\): Internal error \(error id [0-9a-f-]{36}\)/);
    expect(text).not.toContain('secret');
    expect(error).toHaveBeenCalledTimes(1);
  });
});
