import { canonicalJson, normaliseImage, runFingerprint } from 'src/jobs/records/run-fingerprint';

const base = {
  image: 'orcaops/python',
  steps: [{ command: 'python3 -c "print(1)"' }],
  resources: { cpu: 1, memory_mb: 512, pids: 128, disk_mb: 256 },
  network: 'none' as const,
};

describe('runFingerprint', () => {
  it('should be a sha256 hex digest, stable for the same spec', () => {
    expect(runFingerprint(base)).toMatch(/^[a-f0-9]{64}$/);
    expect(runFingerprint(base)).toBe(runFingerprint(structuredClone(base)));
  });

  it('should ignore what does not change what runs: implicit tag, default cwd, key order, step names, env values', () => {
    const same = {
      network: 'none' as const,
      resources: { disk_mb: 256, pids: 128, memory_mb: 512, cpu: 1 },
      steps: [{ name: 'renamed', cwd: '/workspace', command: 'python3 -c "print(1)"  ' }],
      image: 'orcaops/python:latest',
    };
    expect(runFingerprint(same)).toBe(runFingerprint(base));
    const a = { ...base, steps: [{ command: 'x', env: { TOKEN: 'one' } }] };
    const b = { ...base, steps: [{ command: 'x', env: { TOKEN: 'two' } }] };
    expect(runFingerprint(a)).toBe(runFingerprint(b));
  });

  it.each([
    ['image', { image: 'orcaops/busybox' }],
    ['image tag', { image: 'orcaops/python:3.12' }],
    ['command', { steps: [{ command: 'python3 -c "print(2)"' }] }],
    ['argv instead of a shell', { steps: [{ args: ['python3', '-c', 'print(1)'] }] }],
    ['cwd', { steps: [{ command: 'python3 -c "print(1)"', cwd: '/tmp' }] }],
    ['env keys', { steps: [{ command: 'python3 -c "print(1)"', env: { A: '1' } }] }],
    ['resources', { resources: { ...base.resources, memory_mb: 1024 } }],
    ['network', { network: 'egress' as const }],
    ['step count', { steps: [...base.steps, { command: 'true' }] }],
  ])('should change when the %s changes', (_what, patch) => {
    expect(runFingerprint({ ...base, ...patch })).not.toBe(runFingerprint(base));
  });

  it('should normalise image references', () => {
    expect(normaliseImage('Orcaops/Python')).toBe('orcaops/python:latest');
    expect(normaliseImage('localhost:5000/app')).toBe('localhost:5000/app:latest');
    expect(normaliseImage(`app@sha256:${'a'.repeat(64)}`)).toBe(`app@sha256:${'a'.repeat(64)}`);
  });

  it('should write canonical JSON with sorted keys and no undefined members', () => {
    expect(canonicalJson({ b: 1, a: [{ d: undefined, c: 'x' }] })).toBe('{"a":[{"c":"x"}],"b":1}');
  });
});
