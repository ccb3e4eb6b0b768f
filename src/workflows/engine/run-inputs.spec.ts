import { loadWorkflow } from 'src/workflows/engine/loader';
import type { Workflow } from 'src/workflows/engine/model';
import { evaluateWorkflowEnv, resolveInputs } from 'src/workflows/engine/run-inputs';

const yaml = [
  'on:',
  '  workflow_dispatch:',
  '    inputs:',
  '      target: {type: choice, options: [staging, prod], default: staging}',
  '      dry: {type: boolean}',
  '      count: {type: number, required: true}',
  'env:',
  '  TARGET: ${{ inputs.target }}-${{ github.ref_name }}',
  'jobs:',
  '  a: {steps: [{run: echo}]}',
].join('\n');

function workflow(): Workflow {
  const loaded = loadWorkflow(yaml);
  if (!loaded.workflow) throw new Error(JSON.stringify(loaded.diagnostics));
  return loaded.workflow;
}

describe('resolveInputs', () => {
  it('applies defaults and converts CLI strings to the declared types', () => {
    expect(resolveInputs(workflow(), { count: '3', dry: 'true' })).toEqual({
      inputs: { target: 'staging', dry: true, count: 3 },
      errors: [],
    });
  });

  it('reports unknown, missing and ill-typed inputs together', () => {
    expect(resolveInputs(workflow(), { target: 'moon', dry: 'maybe', extra: 'x' }).errors).toEqual([
      "Unknown input 'extra' (declared: target, dry, count)",
      "Input 'target' must be one of staging, prod",
      "Input 'dry' must be true or false",
      "Input 'count' is required",
    ]);
  });
});

describe('evaluateWorkflowEnv', () => {
  it('evaluates workflow env against github and inputs', () => {
    expect(
      evaluateWorkflowEnv(workflow(), { github: { ref_name: 'main' }, inputs: { target: 'prod' }, vars: {} }),
    ).toEqual({ TARGET: 'prod-main' });
  });
});
