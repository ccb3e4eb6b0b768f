import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSandboxProfiles, parseSandboxProfiles, SandboxProfilesError } from 'src/sandboxes/sandbox-profiles';

function problems(text: string): string[] {
  try {
    parseSandboxProfiles(text, 'sandboxes.yml');
  } catch (error) {
    expect(error).toBeInstanceOf(SandboxProfilesError);
    return (error as SandboxProfilesError).problems;
  }
  throw new Error('expected the catalogue to be refused');
}

describe('sandboxes.yml loader', () => {
  it('fills defaults and turns a command string into sh -c', () => {
    const [p] = parseSandboxProfiles('profiles:\n  py:\n    image: orcaops/python\n    command: python3 -V\n    resources: { memory_mb: 256 }\n', 'f.yml');
    expect(p).toMatchObject({
      name: 'py',
      image: 'orcaops/python',
      command: ['/bin/sh', '-c', 'python3 -V'],
      resources: { cpu: 1, memory_mb: 256, pids: 128, disk_mb: 256 },
      cleanup_policy: 'remove_on_completion',
      success_exit_codes: [0],
      ports: [],
    });
  });

  it('names file, profile and field for each problem, all at once', () => {
    const found = problems(
      [
        'profiles:',
        '  bad:',
        '    image: "NOT AN IMAGE"',
        '    resources: { memory_mb: 999999 }',
        '    cleanup_policy: sometimes',
        '    ports: [{ container: 70000 }]',
        '  also-bad:',
        '    image: orcaops/busybox',
        '    surprise: true',
      ].join('\n'),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^sandboxes\.yml: profile "bad": field "image": /),
        expect.stringMatching(/^sandboxes\.yml: profile "bad": field "resources\.memory_mb": /),
        expect.stringMatching(/^sandboxes\.yml: profile "bad": field "cleanup_policy": /),
        expect.stringMatching(/^sandboxes\.yml: profile "bad": field "ports\.0\.container": /),
        expect.stringMatching(/^sandboxes\.yml: profile "also-bad": .*surprise/),
      ]),
    );
  });

  it('refuses YAML syntax errors, a missing profiles key and bad profile names', () => {
    expect(problems('profiles: [unclosed')[0]).toMatch(/^sandboxes\.yml: YAML syntax/);
    expect(problems('version: 1\n')[0]).toMatch(/^sandboxes\.yml: field "profiles"/);
    expect(problems('profiles:\n  Bad Name:\n    image: x\n')[0]).toMatch(/profile "Bad Name": the name/);
  });

  it('treats a missing default file as empty, a missing configured file as an error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orcaops-profiles-'));
    expect(loadSandboxProfiles(join(dir, 'sandboxes.yml'), false)).toEqual([]);
    expect(() => loadSandboxProfiles(join(dir, 'sandboxes.yml'), true)).toThrow(/file not found/);
    writeFileSync(join(dir, 'bad.yml'), 'profiles:\n  x:\n    image: orcaops/busybox\n    timeout: -1\n');
    expect(() => loadSandboxProfiles(join(dir, 'bad.yml'), true)).toThrow(/bad\.yml: profile "x": field "timeout"/);
  });

  it('accepts the repository catalogue', () => {
    expect(loadSandboxProfiles(join(__dirname, '../../sandboxes.yml'), true).map((p) => p.name)).toEqual(['busybox', 'python', 'python-small']);
  });
});
