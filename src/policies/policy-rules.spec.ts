import type { PolicyDocument, PolicyRequest } from 'src/policies/policy-model';
import { documentProblems, effectivePolicy, evaluateCommands, evaluatePolicy, secretViolations, wideningProblems } from 'src/policies/policy-rules';

const NO_GRANT = { egressGranted: false };

function job(overrides: Partial<PolicyRequest> = {}): PolicyRequest {
  return {
    kind: 'job',
    image: 'orcaops/busybox',
    commands: [{ field: 'steps.0.command', command: 'echo hi' }],
    network: 'none',
    resources: { cpu: 1, memory_mb: 512, pids: 128, disk_mb: 256 },
    timeout_seconds: 60,
    ...overrides,
  };
}

describe('effectivePolicy', () => {
  it('should union deny lists, keep every allow list, take the smaller maximum and AND permissions', () => {
    const org: PolicyDocument = {
      images: { allow: ['orcaops/*'], deny: ['orcaops/evil'] },
      commands: { deny: ['reboot'] },
      network: { egress: 'allow', published_ports: true },
      resources: { max_memory_mb: 1024, max_cpu: 2 },
    };
    const ws: PolicyDocument = {
      images: { allow: ['orcaops/busybox'], deny: ['orcaops/python'] },
      commands: { deny_patterns: ['curl'] },
      network: { egress: 'require_approval', published_ports: false },
      resources: { max_memory_mb: 256 },
    };
    expect(effectivePolicy(org, ws, NO_GRANT)).toEqual({
      images: {
        allow: [['orcaops/*'], ['orcaops/busybox']],
        deny: ['orcaops/evil', 'orcaops/python'],
        require_digest: false,
        outside_allow: 'deny',
        registries: [],
        pull_approval: false,
      },
      commands: { deny: ['reboot'], deny_patterns: ['curl'] },
      network: { egress: 'require_approval', published_ports: false, destinations: { egress: 'require_approval', allow: [], ports: [80, 443], deny_domains: [], deny_cidrs: [], allow_protected_cidrs: [] } },
      resources: { max_memory_mb: 256, max_cpu: 2, max_timeout_seconds: 1800, approval_above: {} },
      isolation: { writable_root_fs: false },
      approvals: { expire_after_seconds: 3600, allow_self_approval: false },
      secrets: { allowed_roles: [], rules: [] },
    });
  });

  it('should deny egress by default and allow it where the organisation granted it to the workspace', () => {
    expect(effectivePolicy({}, {}, NO_GRANT).network.egress).toBe('deny');
    expect(effectivePolicy({}, {}, { egressGranted: true }).network.egress).toBe('allow');
    expect(effectivePolicy({}, { network: { egress: 'deny' } }, { egressGranted: true }).network.egress).toBe('deny');
  });
});

describe('long jobs (resources.max_timeout_seconds)', () => {
  it('should cap a job at 30 minutes unless the organisation allows longer, which a workspace can only lower', () => {
    expect(effectivePolicy({}, {}, NO_GRANT).resources.max_timeout_seconds).toBe(1800);
    expect(effectivePolicy({ resources: { max_timeout_seconds: 86_400 } }, {}, NO_GRANT).resources.max_timeout_seconds).toBe(86_400);
    expect(effectivePolicy({ resources: { max_timeout_seconds: 86_400 } }, { resources: { max_timeout_seconds: 7200 } }, NO_GRANT).resources.max_timeout_seconds).toBe(7200);
    expect(effectivePolicy({}, { resources: { max_timeout_seconds: 600 } }, NO_GRANT).resources.max_timeout_seconds).toBe(600);
  });

  it('should deny a timeout above the effective maximum and allow it once the organisation raises it', () => {
    expect(evaluatePolicy(effectivePolicy({}, {}, NO_GRANT), job({ timeout_seconds: 1801 }))).toMatchObject({
      decision: 'denied',
      violations: [{ rule: 'resources', field: 'timeout_seconds', effect: 'deny', message: 'timeout_seconds 1801 is above the maximum 1800' }],
    });
    expect(evaluatePolicy(effectivePolicy({ resources: { max_timeout_seconds: 7200 } }, {}, NO_GRANT), job({ timeout_seconds: 7200 })).decision).toBe('allowed');
  });

  it('should name a workspace policy that raises the timeout maximum above the default as a widening', () => {
    expect(wideningProblems({}, { resources: { max_timeout_seconds: 3600 } }, NO_GRANT).map((p) => p.field)).toEqual(['resources.max_timeout_seconds']);
    expect(wideningProblems({ resources: { max_timeout_seconds: 7200 } }, { resources: { max_timeout_seconds: 3600 } }, NO_GRANT)).toEqual([]);
  });
});

describe('wideningProblems', () => {
  it('should name every field where a workspace policy allows more than the organisation', () => {
    const org: PolicyDocument = {
      images: { allow: ['orcaops/*'], require_digest: true },
      resources: { max_memory_mb: 512, approval_above: { cpu: 1 } },
      approvals: { expire_after_seconds: 600, allow_self_approval: false },
    };
    const ws: PolicyDocument = {
      images: { allow: ['orcaops/busybox', 'docker.io/*'], require_digest: false, outside_allow: 'require_approval' },
      network: { egress: 'allow', published_ports: true },
      resources: { max_memory_mb: 1024, max_cpu: 4, approval_above: { cpu: 2 } },
      isolation: { writable_root_fs: true },
      approvals: { expire_after_seconds: 3600 },
    };
    expect(wideningProblems(org, ws, NO_GRANT).map((p) => p.field)).toEqual([
      'images.allow.1',
      'images.require_digest',
      'images.outside_allow',
      'network.egress',
      'network.published_ports',
      'resources.max_memory_mb',
      'resources.approval_above.cpu',
      'isolation.writable_root_fs',
      'approvals.expire_after_seconds',
    ]);
  });

  it('should accept a workspace policy that only narrows', () => {
    const org: PolicyDocument = { images: { allow: ['orcaops/*'] }, network: { egress: 'allow' }, resources: { max_memory_mb: 512 } };
    const ws: PolicyDocument = { images: { allow: ['orcaops/busybox'], deny: ['x'] }, network: { egress: 'require_approval' }, resources: { max_memory_mb: 128, max_cpu: 1 } };
    expect(wideningProblems(org, ws, NO_GRANT)).toEqual([]);
  });

  it('should let a workspace keep egress the organisation granted it', () => {
    expect(wideningProblems({}, { network: { egress: 'allow' } }, { egressGranted: true })).toEqual([]);
  });
});

describe('four eyes (approvals.allow_self_approval)', () => {
  it('should refuse self-approval by default and allow it only when the organisation says so and the workspace does not narrow it', () => {
    expect(effectivePolicy({}, {}, NO_GRANT).approvals.allow_self_approval).toBe(false);
    expect(effectivePolicy({}, { approvals: { allow_self_approval: true } }, NO_GRANT).approvals.allow_self_approval).toBe(false);
    expect(effectivePolicy({ approvals: { allow_self_approval: true } }, {}, NO_GRANT).approvals.allow_self_approval).toBe(true);
    expect(effectivePolicy({ approvals: { allow_self_approval: true } }, { approvals: { allow_self_approval: false } }, NO_GRANT).approvals.allow_self_approval).toBe(false);
  });

  it('should name a workspace policy that lifts four eyes the organisation keeps as a widening', () => {
    expect(wideningProblems({}, { approvals: { allow_self_approval: true } }, NO_GRANT).map((p) => p.field)).toEqual(['approvals.allow_self_approval']);
    expect(wideningProblems({ approvals: { allow_self_approval: true } }, { approvals: { allow_self_approval: true } }, NO_GRANT)).toEqual([]);
  });
});

describe('documentProblems', () => {
  it('should reject a regular expression that does not compile, naming the field', () => {
    expect(documentProblems({ commands: { deny_patterns: ['ok', '(unclosed'] } })).toEqual([
      { field: 'commands.deny_patterns.1', message: expect.stringContaining('invalid regular expression') },
    ]);
  });
});

describe('evaluatePolicy', () => {
  it('should allow a request that breaks no rule', () => {
    expect(evaluatePolicy(effectivePolicy({}, {}, NO_GRANT), job())).toEqual({ decision: 'allowed', violations: [] });
  });

  it('should return every violation of a denied request', () => {
    const policy = effectivePolicy(
      { images: { deny: ['orcaops/busybox'] }, commands: { deny_patterns: ['rm\\s+-rf'] }, resources: { max_memory_mb: 256 } },
      {},
      NO_GRANT,
    );
    const decision = evaluatePolicy(policy, job({ commands: [{ field: 'steps.0.command', command: 'rm -rf /' }], network: 'egress', resources: { cpu: 1, memory_mb: 1024, pids: 64, disk_mb: 16 } }));
    expect(decision.decision).toBe('denied');
    expect(decision.violations.map((v) => [v.rule, v.field, v.effect])).toEqual([
      ['images', 'image', 'deny'],
      ['commands', 'steps.0.command', 'deny'],
      ['network', 'network', 'deny'],
      ['resources', 'resources.memory_mb', 'deny'],
    ]);
  });

  it('should match image globs on the repository name so a deny covers every tag (deny wins over allow)', () => {
    const policy = effectivePolicy({ images: { allow: ['orcaops/*'], deny: ['orcaops/python'] } }, {}, NO_GRANT);
    expect(evaluatePolicy(policy, job({ image: 'orcaops/python:3.12' })).decision).toBe('denied');
    expect(evaluatePolicy(policy, job({ image: 'orcaops/busybox:latest' })).decision).toBe('allowed');
    expect(evaluatePolicy(policy, job({ image: 'alpine' })).violations[0]).toMatchObject({ rule: 'images', effect: 'deny' });
  });

  it('should require a digest when the policy pins images', () => {
    const policy = effectivePolicy({ images: { require_digest: true } }, {}, NO_GRANT);
    expect(evaluatePolicy(policy, job()).decision).toBe('denied');
    expect(evaluatePolicy(policy, job({ image: `orcaops/busybox@sha256:${'a'.repeat(64)}` })).decision).toBe('allowed');
  });

  it('should deny an exact command after trimming', () => {
    const policy = effectivePolicy({ commands: { deny: ['shutdown now'] } }, {}, NO_GRANT);
    expect(evaluatePolicy(policy, job({ commands: [{ field: 'command', command: '  shutdown now ' }] })).decision).toBe('denied');
  });

  it('should hold egress, an image outside the allow list and resources above a threshold for approval', () => {
    const policy = effectivePolicy(
      { images: { allow: ['orcaops/busybox'], outside_allow: 'require_approval' }, network: { egress: 'require_approval' }, resources: { approval_above: { memory_mb: 256, timeout_seconds: 30 } } },
      {},
      NO_GRANT,
    );
    const decision = evaluatePolicy(policy, job({ image: 'orcaops/python', network: 'egress' }));
    expect(decision.decision).toBe('requires_approval');
    expect(decision.violations.map((v) => v.field)).toEqual(['image', 'network', 'resources.memory_mb', 'timeout_seconds']);
    expect(decision.violations.every((v) => v.effect === 'require_approval')).toBe(true);
  });

  it('should deny rather than ask when one rule denies and another asks for approval', () => {
    const policy = effectivePolicy({ network: { egress: 'require_approval' }, resources: { max_cpu: 1 } }, {}, NO_GRANT);
    expect(evaluatePolicy(policy, job({ network: 'egress', resources: { cpu: 2, memory_mb: 64, pids: 64, disk_mb: 16 } })).decision).toBe('denied');
  });

  it('should refuse published ports unless allowed', () => {
    expect(evaluatePolicy(effectivePolicy({}, {}, NO_GRANT), job({ published_ports: 1 })).violations).toEqual([
      expect.objectContaining({ rule: 'network', field: 'ports', effect: 'deny' }),
    ]);
  });
});

describe('evaluateCommands', () => {
  it('should apply only the command rules', () => {
    const policy = effectivePolicy({ images: { deny: ['*'] }, commands: { deny_patterns: ['^nc\\b'] } }, {}, NO_GRANT);
    expect(evaluateCommands(policy, [{ field: 'command', command: 'echo ok' }]).decision).toBe('allowed');
    expect(evaluateCommands(policy, [{ field: 'args', command: 'nc -l 80' }]).violations).toHaveLength(1);
  });
});

describe('deny patterns on RE2', () => {
  it('should refuse backreferences and lookaround on save, saying why', () => {
    expect(documentProblems({ commands: { deny_patterns: ['(a)\\1', '(?=x)', 'fine'] } })).toEqual([
      { field: 'commands.deny_patterns.0', message: expect.stringContaining('no backreferences or lookaround') },
      { field: 'commands.deny_patterns.1', message: expect.stringContaining('no backreferences or lookaround') },
    ]);
  });

  it('should refuse patterns whose repeat counts or program are too large', () => {
    expect(documentProblems({ commands: { deny_patterns: ['[\\w\\s]{1,999}[\\w\\s]{1,999}'] } })).toEqual([
      { field: 'commands.deny_patterns.0', message: expect.stringContaining('repeat counts add up to 1998, the limit is 250') },
    ]);
    const many = Array.from({ length: 100 }, (_, i) => `[a-z]{1,100}${i}`);
    expect(documentProblems({ commands: { deny_patterns: many } })).toContainEqual({ field: 'commands.deny_patterns', message: expect.stringContaining('the limit') });
  });

  it('should evaluate a catastrophic-for-backtracking pattern in linear time', () => {
    const policy = effectivePolicy({ commands: { deny_patterns: ['(a+)+$', '(x+x+)+y'] } }, {}, NO_GRANT);
    const started = performance.now();
    const decision = evaluateCommands(policy, [{ field: 'command', command: `${'a'.repeat(60_000)}!` }, { field: 'args', command: 'x'.repeat(60_000) }]);
    expect(performance.now() - started).toBeLessThan(200);
    expect(decision.decision).toBe('allowed');
  });

  it('should deny (fail closed) when a stored pattern cannot be evaluated', () => {
    const policy = effectivePolicy({ commands: { deny_patterns: ['(a)\\1'] } }, {}, NO_GRANT);
    expect(evaluateCommands(policy, [{ field: 'command', command: 'echo' }]).violations).toEqual([
      expect.objectContaining({ effect: 'deny', message: expect.stringContaining('cannot be evaluated') }),
    ]);
  });
});

describe('image globs in linear time', () => {
  it('should match picomatch globs on RE2 and refuse negation on save', () => {
    const policy = effectivePolicy(
      // Registries allowed too: references naming a registry are pulled from it (pull rules below).
      { images: { allow: ['orcaops/*', 'ghcr.io/org/**', 'docker.io/library/python:3.*'], registries: ['ghcr.io', 'docker.io'] } },
      {},
      NO_GRANT,
    );
    for (const image of ['orcaops/busybox', 'orcaops/python:3', 'ghcr.io/org/a/b:1', 'docker.io/library/python:3.12']) {
      expect(evaluatePolicy(policy, job({ image })).decision).toBe('allowed');
    }
    expect(evaluatePolicy(policy, job({ image: 'orcaops/a/b' })).decision).toBe('denied');
    expect(documentProblems({ images: { deny: ['!(orcaops/*)'] } })).toEqual([{ field: 'images.deny.0', message: expect.stringContaining('negation') }]);
  });

  it('should decide a glob with many wildcards against a long image at once', () => {
    const policy = effectivePolicy({ images: { deny: ['*a*a*a*a*a*a*a*a*a*a*a*a*c'] } }, {}, NO_GRANT);
    const started = performance.now();
    expect(evaluatePolicy(policy, job({ image: `${'a'.repeat(250)}b` })).decision).toBe('allowed');
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('pull rules (images.registries, pull_approval, max_size_mb)', () => {
  const decide = (org: PolicyDocument, ws: PolicyDocument, req: Partial<PolicyRequest>) => evaluatePolicy(effectivePolicy(org, ws, NO_GRANT), job(req));

  it('should refuse a reference naming a registry when no registry is allowed (the default), before any engine call', () => {
    const d = decide({}, {}, { image: '127.0.0.1:5000/app:v1' });
    expect(d.decision).toBe('denied');
    expect(d.violations[0]?.message).toContain('registry "127.0.0.1:5000" is not allowed');
  });

  it('should let short names run from the engine, unless pull_policy always asks for a pull from Docker Hub', () => {
    expect(decide({}, {}, { image: 'orcaops/busybox' }).decision).toBe('allowed');
    expect(decide({}, {}, { image: 'orcaops/busybox', pull_policy: 'always' }).decision).toBe('denied');
    expect(decide({}, {}, { image: '127.0.0.1:5000/app:v1', pull_policy: 'never' }).decision).toBe('allowed');
  });

  it('should need every level that lists registries to match, and hold pulls for approval when asked', () => {
    const org: PolicyDocument = { images: { registries: ['127.0.0.1:*', 'ghcr.io'] } };
    expect(decide(org, {}, { image: '127.0.0.1:5000/app:v1' }).decision).toBe('allowed');
    expect(decide(org, { images: { registries: ['ghcr.io'] } }, { image: '127.0.0.1:5000/app:v1' }).decision).toBe('denied');
    expect(decide(org, { images: { pull_approval: true } }, { image: 'ghcr.io/a/b' }).decision).toBe('requires_approval');
  });

  it('should refuse an invalid reference and name widenings of the pull rules', () => {
    expect(decide({}, {}, { image: 'Bad Image' }).decision).toBe('denied');
    const org: PolicyDocument = { images: { registries: ['ghcr.io'], pull_approval: true, max_size_mb: 100 } };
    const fields = wideningProblems(org, { images: { registries: ['docker.io'], pull_approval: false, max_size_mb: 200 } }, NO_GRANT).map((p) => p.field);
    expect(fields).toEqual(['images.registries.0', 'images.pull_approval', 'images.max_size_mb']);
    expect(effectivePolicy(org, { images: { max_size_mb: 50 } }, NO_GRANT).images.max_size_mb).toBe(50);
  });
});

describe('secrets (which roles may use which secrets)', () => {
  const policy = (org: PolicyDocument, ws: PolicyDocument = {}): ReturnType<typeof effectivePolicy>['secrets'] => effectivePolicy(org, ws, NO_GRANT).secrets;

  it('should let every role use every secret by default', () => {
    expect(secretViolations(policy({}), 'ci', ['ANY'])).toEqual([]);
  });

  it('should apply allowed_roles of every level and every per-name rule (globs with *)', () => {
    const both = policy({ secrets: { allowed_roles: ['admin', 'ci'] } }, { secrets: { allowed_roles: ['admin'], rules: [{ names: ['DEPLOY_*', 'EXACT'], roles: ['admin'] }] } });
    expect(secretViolations(both, 'ci', ['X']).map((v) => v.field)).toEqual(['secrets.X']);
    expect(secretViolations(both, 'admin', ['DEPLOY_PROD', 'EXACT', 'OTHER'])).toEqual([]);
    const rules = policy({ secrets: { rules: [{ names: ['DEPLOY_*'], roles: ['admin'] }] } });
    expect(secretViolations(rules, 'developer', ['DEPLOY_PROD', 'NPM_TOKEN', 'DEPLOY'])).toEqual([
      { rule: 'secrets', field: 'secrets.DEPLOY_PROD', effect: 'deny', message: expect.stringContaining('DEPLOY_PROD') },
    ]);
  });

  it('should refuse a workspace allowed_roles wider than the organisation', () => {
    expect(wideningProblems({ secrets: { allowed_roles: ['admin'] } }, { secrets: { allowed_roles: ['admin', 'ci'] } }, NO_GRANT).map((p) => p.field)).toEqual(['secrets.allowed_roles.1']);
    expect(wideningProblems({}, { secrets: { allowed_roles: ['ci'], rules: [{ names: ['A'], roles: [] }] } }, NO_GRANT)).toEqual([]);
  });
});
