import { loadWorkflow } from 'src/workflows/engine/loader';
import { workflowFingerprint } from 'src/workflows/workflow-fingerprint';

const YAML = `
name: ci
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: echo hi
`;

describe('workflowFingerprint', () => {
  const fp = (text: string, file = 'ci.yml', source?: string): string => workflowFingerprint(loadWorkflow(text, { file }).workflow!, source);

  it('should ignore layout, comments, the file name and the workflow name', () => {
    const relaid = `# comment\nname: other\non: [push]\njobs:\n  test: { runs-on: ubuntu-latest, steps: [ { run: echo hi } ] }\n`;
    expect(fp(relaid, 'other.yml')).toBe(fp(YAML));
    expect(fp(YAML)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('should change with what runs and with the uploaded source', () => {
    expect(fp(YAML.replace('echo hi', 'echo bye'))).not.toBe(fp(YAML));
    expect(fp(YAML, 'ci.yml', 'a'.repeat(64))).not.toBe(fp(YAML));
  });
});
