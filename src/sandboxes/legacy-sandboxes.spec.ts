import { parse } from 'yaml';
import { parseSandboxProfiles, SandboxProfilesError } from 'src/sandboxes/sandbox-profiles';
import { convertLegacySandboxes, isLegacySandboxes, legacyCatalogueYaml } from 'src/sandboxes/legacy-sandboxes';

/** The predecessor's shipped examples, in its own format (seed-spec §1.4). */
const LEGACY = [
  'sandboxes:',
  '  - name: echo',
  '    image: orcaops/busybox',
  '    command: ["sh", "-c", "echo hi"]',
  '  - name: custom-exit',
  '    image: orcaops/python',
  '    command: ["python3", "-c", "raise SystemExit(42)"]',
  '    success_exit_codes: [0, 42]',
  '    cleanup_policy: keep_on_completion',
  '    timeout: 30',
  '    environment: ["MODE=test", "URL=http://x/?a=b"]',
  '  - name: web',
  '    image: orcaops/python',
  '    ports: {"8081/tcp": 8081}',
  '',
].join('\n');

function refused(text: string): string[] {
  try {
    parseSandboxProfiles(text, 'sandboxes.yml');
  } catch (error) {
    expect(error).toBeInstanceOf(SandboxProfilesError);
    return (error as SandboxProfilesError).problems;
  }
  throw new Error('expected the file to be refused');
}

describe('the predecessor sandboxes: format', () => {
  it('loads converted, with one deprecation warning naming the migrate command and what changed', () => {
    const warnings: string[] = [];
    const profiles = parseSandboxProfiles(LEGACY, 'old.yml', (message) => warnings.push(message));
    expect(profiles.map((p) => p.name)).toEqual(['custom-exit', 'echo', 'web']);
    expect(profiles.find((p) => p.name === 'custom-exit')).toMatchObject({
      image: 'orcaops/python',
      command: ['python3', '-c', 'raise SystemExit(42)'],
      success_exit_codes: [0, 42],
      cleanup_policy: 'keep_on_completion',
      timeout_seconds: 30,
      env: { MODE: 'test', URL: 'http://x/?a=b' },
    });
    // The old default run time is kept explicitly; the host port is dropped (nothing is published).
    expect(profiles.find((p) => p.name === 'echo')).toMatchObject({ timeout_seconds: 60, cleanup_policy: 'remove_on_completion', success_exit_codes: [0] });
    expect(profiles.find((p) => p.name === 'web')?.ports).toEqual([{ container: 8081, protocol: 'tcp' }]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^old\.yml uses the deprecated sandboxes: format; it was converted on load \(3 profiles\)\. Rewrite it with: orcaops profiles migrate old\.yml --write/);
    expect(warnings[0]).toMatch(/"web": host port numbers dropped/);
  });

  it('does not warn for the profiles: format', () => {
    const warn = jest.fn();
    parseSandboxProfiles('profiles:\n  a:\n    image: orcaops/busybox\n', 'f.yml', warn);
    expect(warn).not.toHaveBeenCalled();
    expect(isLegacySandboxes({ profiles: {} })).toBe(false);
  });

  it('refuses what has no safe equivalent, naming entry, key and line: volumes, unknown keys, duplicates, bad env', () => {
    const problems = refused(
      [
        'sandboxes:',
        '  - name: a',
        '    image: orcaops/busybox',
        '    volumes: {"/etc": {bind: /host, mode: rw}}',
        '  - name: a',
        '    image: orcaops/busybox',
        '  - name: b',
        '    image: orcaops/busybox',
        '    network_mode: host',
        '    environment: ["NOEQUALS"]',
        '',
      ].join('\n'),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^sandboxes\.yml: sandboxes\[0\] "volumes" \(line 4\): host bind mounts are not supported/),
      expect.stringMatching(/^sandboxes\.yml: sandboxes\[1\] "name" \(line 5\): "a" is used twice/),
      expect.stringMatching(/^sandboxes\.yml: sandboxes\[2\] "network_mode" \(line 9\): unknown key "network_mode"/),
      expect.stringMatching(/^sandboxes\.yml: sandboxes\[2\] "environment" \(line 10\): "environment" entry "NOEQUALS" must be KEY=VALUE/),
    ]);
  });

  it('validates converted entries as profiles (a bad policy or image is refused by profile and field)', () => {
    const problems = refused('sandboxes:\n  - name: x\n    image: orcaops/busybox\n    cleanup_policy: sometimes\n');
    expect(problems).toEqual([expect.stringContaining('sandboxes.yml: profile "x": field "cleanup_policy"')]);
  });

  it('writes a profiles: file that loads to the same catalogue, without a warning', () => {
    const conversion = convertLegacySandboxes(parse(LEGACY), 'old.yml', LEGACY);
    const text = legacyCatalogueYaml(conversion, 'old.yml');
    expect(text).toMatch(/^# Converted from the sandboxes: format of old\.yml/);
    const warn = jest.fn();
    expect(parseSandboxProfiles(text, 'new.yml', warn)).toEqual(parseSandboxProfiles(LEGACY, 'old.yml'));
    expect(warn).not.toHaveBeenCalled();
  });
});
