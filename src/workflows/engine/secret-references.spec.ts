import type { JobSpec, StepSpec } from 'src/workflows/engine/model';
import { secretReferences } from 'src/workflows/engine/secret-references';

const step = (partial: Partial<StepSpec>): StepSpec =>
  ({ index: 0, id: 's', generatedId: false, action: { kind: 'run', script: '' }, env: {}, continueOnError: false, loc: { line: 1, column: 1 }, ...partial });

describe('secretReferences', () => {
  it('finds secrets.X and secrets[\'X\'] in run, env, with, name, if and outputs, upper-cased, once each', () => {
    const job = {
      steps: [
        step({ action: { kind: 'run', script: 'echo ${{ secrets.DEPLOY_TOKEN }} ${{ secrets.deploy_token }}' } }),
        step({ env: { A: "${{ secrets['API_KEY'] }}" }, if: "secrets.FLAG != ''" }),
      ],
      outputs: { o: '${{ secrets.OUT }}' },
    } as unknown as Pick<JobSpec, 'steps' | 'outputs'>;
    expect(secretReferences(job)).toEqual(['API_KEY', 'DEPLOY_TOKEN', 'FLAG', 'OUT']);
  });

  it('finds nothing in a job without secrets', () => {
    expect(secretReferences({ steps: [step({ action: { kind: 'run', script: 'echo $SECRETS' } })], outputs: {} })).toEqual([]);
  });
});
