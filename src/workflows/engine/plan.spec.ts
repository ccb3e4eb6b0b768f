import { loadWorkflow } from 'src/workflows/engine/loader';
import type { Workflow } from 'src/workflows/engine/model';
import { plan } from 'src/workflows/engine/plan';

function workflowOf(yaml: string): Workflow {
  const loaded = loadWorkflow(yaml);
  if (!loaded.workflow) throw new Error(JSON.stringify(loaded.diagnostics));
  return loaded.workflow;
}

describe('plan', () => {
  const yaml = [
    'name: ci',
    'jobs:',
    '  deploy: {needs: [test, build], steps: [{run: echo}]}',
    '  test:',
    '    needs: build',
    '    strategy: {matrix: {os: [a, b], node: [18, 20]}}',
    '    steps: [{run: echo}]',
    '  build: {image: "alpine:3", outputs: {x: "${{ steps.a.outputs.x }}"}, steps: [{id: a, run: echo}, {run: echo}]}',
    '  dyn: {needs: build, strategy: {matrix: {v: "${{ fromJSON(needs.build.outputs.x) }}"}}, steps: [{run: echo}]}',
    '  mac: {runs-on: macos-latest, steps: [{run: echo}]}',
  ].join('\n');

  it('lists jobs, static instances with display names, dynamic markers and a valid order', () => {
    const result = plan(workflowOf(yaml), { defaultImage: 'img' });
    expect(result.order).toEqual(['build', 'test', 'deploy', 'dyn', 'mac']);
    expect(result.staticInstanceCount).toBe(1 + 4 + 1 + 1);
    const byId = Object.fromEntries(result.jobs.map((j) => [j.id, j]));
    expect(byId.test?.instances.map((i) => i.displayName)).toEqual([
      'test (a, 18)',
      'test (a, 20)',
      'test (b, 18)',
      'test (b, 20)',
    ]);
    expect(byId.build).toMatchObject({
      steps: 2,
      instances: [{ key: 'build', displayName: 'build', image: 'alpine:3' }],
    });
    expect(byId.dyn).toMatchObject({ expansion: 'dynamic', instances: [] });
    expect(byId.mac?.skippedReason).toMatch(/macos-latest/);
  });
});
