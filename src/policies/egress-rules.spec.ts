import { decideEgress, domainMatches, effectiveEgress, egressRuleProblems, narrowEgress, narrowingProblems, type EgressDestinationRules } from 'src/policies/egress-rules';
import { effectivePolicy, wideningProblems } from 'src/policies/policy-rules';

const policyOf = (org: EgressDestinationRules = {}, workspace: EgressDestinationRules = {}) =>
  effectiveEgress('allow', [
    { level: 'organisation', rules: org },
    { level: 'workspace', rules: workspace },
  ]);

describe('egress destination rules', () => {
  it('matches exact names and *. wildcards below (not the apex)', () => {
    expect(domainMatches('pypi.org', 'PyPI.org.')).toBe(true);
    expect(domainMatches('*.example.com', 'a.b.example.com')).toBe(true);
    expect(domainMatches('*.example.com', 'example.com')).toBe(false);
    expect(domainMatches('*.example.com', 'badexample.com')).toBe(false);
  });

  it('allows a listed name on 80/443 only, naming the deciding rule', () => {
    const p = policyOf({ allow_domains: ['pypi.org', '*.pythonhosted.org'] });
    expect(decideEgress(p, { host: 'pypi.org', port: 443, addresses: ['151.101.0.223'] })).toMatchObject({
      allowed: true,
      rule: 'network.allow_domains "pypi.org" (organisation)',
    });
    expect(decideEgress(p, { host: 'files.pythonhosted.org', port: 80, addresses: ['151.101.0.223'] }).allowed).toBe(true);
    expect(decideEgress(p, { host: 'pypi.org', port: 22, addresses: ['151.101.0.223'] })).toMatchObject({ allowed: false, rule: 'network.allow_ports' });
    expect(decideEgress(p, { host: 'evil.com', port: 443, addresses: ['151.101.0.223'] })).toMatchObject({
      allowed: false,
      rule: 'network.allow_domains/allow_cidrs (organisation)',
    });
  });

  it('lets denies win over allows, for names and ranges', () => {
    const p = policyOf({ allow_domains: ['*.example.com'], allow_cidrs: ['203.0.113.0/24'] }, { deny_domains: ['bad.example.com'], deny_cidrs: ['203.0.113.66'] });
    expect(decideEgress(p, { host: 'bad.example.com', port: 443, addresses: ['203.0.113.5'] })).toMatchObject({ allowed: false, rule: 'network.deny_domains "bad.example.com" (workspace)' });
    expect(decideEgress(p, { host: '203.0.113.66', port: 443, addresses: ['203.0.113.66'] })).toMatchObject({ allowed: false, rule: 'network.deny_cidrs "203.0.113.66" (workspace)' });
    expect(decideEgress(p, { host: '203.0.113.7', port: 443, addresses: ['203.0.113.7'] })).toMatchObject({ allowed: true, rule: 'network.allow_cidrs "203.0.113.0/24" (organisation)' });
  });

  it('refuses protected classes even for an allowed name (DNS rebinding), unless the organisation opens the range', () => {
    const p = policyOf({ allow_domains: ['*.test'] });
    for (const address of ['127.0.0.1', '169.254.169.254', '10.1.2.3', '172.17.0.1', '192.168.1.1', '::1', '::ffff:127.0.0.1', 'fe80::1']) {
      expect(decideEgress(p, { host: 'rebind.test', port: 80, addresses: [address] })).toMatchObject({ allowed: false, rule: expect.stringMatching(/^protected /) });
    }
    expect(decideEgress(p, { host: 'api.test', port: 80, addresses: ['203.0.113.9'] }, [{ cidr: '203.0.113.9/32', what: 'OrcaOps API' }])).toMatchObject({
      allowed: false,
      rule: 'protected 203.0.113.9/32',
    });
    const opened = policyOf({ allow_domains: ['mirror.corp'], allow_protected_cidrs: ['10.1.2.3/32'] });
    expect(decideEgress(opened, { host: 'mirror.corp', port: 443, addresses: ['10.1.2.3'] }).allowed).toBe(true);
    expect(decideEgress(opened, { host: 'mirror.corp', port: 443, addresses: ['10.1.2.4'] }).allowed).toBe(false);
  });

  it('connects only to the addresses that pass; refuses when none does', () => {
    const p = policyOf({ allow_domains: ['mixed.test'] });
    expect(decideEgress(p, { host: 'mixed.test', port: 80, addresses: ['127.0.0.1', '203.0.113.5'] })).toMatchObject({ allowed: true, addresses: ['203.0.113.5'] });
    expect(decideEgress(p, { host: 'mixed.test', port: 80, addresses: [] })).toMatchObject({ allowed: false, rule: 'dns' });
  });

  it('needs every level that sets allow lists (intersection), and intersects ports', () => {
    const p = policyOf({ allow_domains: ['*.test'], allow_ports: [80, 443, 8443] }, { allow_domains: ['a.test'], allow_ports: [443, 8443] });
    expect(decideEgress(p, { host: 'a.test', port: 8443, addresses: ['203.0.113.1'] })).toMatchObject({ allowed: true, rule: 'network.allow_domains "a.test" (workspace)' });
    expect(decideEgress(p, { host: 'b.test', port: 443, addresses: ['203.0.113.1'] })).toMatchObject({ allowed: false, rule: 'network.allow_domains/allow_cidrs (workspace)' });
    expect(decideEgress(p, { host: 'a.test', port: 80, addresses: ['203.0.113.1'] })).toMatchObject({ allowed: false, rule: 'network.allow_ports' });
  });

  it('refuses everything while network egress is not allowed', () => {
    const p = effectiveEgress('deny', [{ level: 'organisation', rules: { allow_domains: ['a.test'] } }]);
    expect(decideEgress(p, { host: 'a.test', port: 443, addresses: ['203.0.113.1'] })).toMatchObject({ allowed: false, rule: 'network.egress' });
  });

  it('validates rules on save; only the organisation opens protected ranges; a workspace only narrows', () => {
    expect(egressRuleProblems({ allow_cidrs: ['10.0.0.0/33', 'x'], allow_domains: ['ok.test', 'bad name'], allow_protected_cidrs: ['10.0.0.0/8'] }, false).map((p) => p.field)).toEqual([
      'network.allow_cidrs.0',
      'network.allow_cidrs.1',
      'network.allow_domains.1',
      'network.allow_protected_cidrs',
    ]);
    expect(egressRuleProblems({ allow_protected_cidrs: ['10.0.0.0/8'] }, true)).toEqual([]);
    const org = { network: { egress: 'allow' as const, allow_domains: ['*.test'], allow_cidrs: ['203.0.113.0/24'] } };
    const ws = { network: { allow_domains: ['a.test', '*.b.test', 'other.org'], allow_cidrs: ['203.0.113.128/25', '198.51.100.0/24'], allow_ports: [443, 22] } };
    expect(wideningProblems(org, ws, { egressGranted: false }).map((p) => p.field)).toEqual([
      'network.allow_domains.2',
      'network.allow_cidrs.1',
      'network.allow_ports.1',
    ]);
    const eff = effectivePolicy(org, ws, { egressGranted: false });
    expect(eff.network.destinations.ports).toEqual([22, 443]);
    expect(eff.network.destinations.allow.map((a) => a.level)).toEqual(['organisation', 'workspace']);
  });

  describe('a request narrowing the policy', () => {
    const p = policyOf({ allow_domains: ['*.test'], allow_cidrs: ['203.0.113.0/24'], allow_ports: [80, 443, 7] }, { allow_domains: ['allowed.test', '*.wild.test'], allow_cidrs: ['203.0.113.0/24'], deny_domains: ['denied.test'] });
    const at = (host: string, port = 443) => ({ host, port, addresses: ['203.0.113.10'] });

    it('should let through only what the request and every policy level allow', () => {
      const narrowed = narrowEgress(p, { allow_domains: ['www.wild.test'], ports: [443] });
      expect(decideEgress(narrowed, at('www.wild.test'))).toMatchObject({ allowed: true, rule: 'network.allow_domains "www.wild.test" (request)' });
      expect(decideEgress(narrowed, at('allowed.test'))).toMatchObject({ allowed: false, rule: 'network.allow_domains/allow_cidrs (request)' });
      expect(decideEgress(narrowed, at('www.wild.test', 80))).toMatchObject({ allowed: false, rule: 'network.allow_ports' });
      expect(narrowEgress(p, undefined)).toBe(p);
    });

    it('should name every entry that reaches beyond the policy', () => {
      expect(narrowingProblems(p, { allow_domains: ['www.wild.test', '*.wild.test', 'allowed.test'], allow_cidrs: ['203.0.113.8/29'], ports: [443] })).toEqual([]);
      expect(narrowingProblems(p, { allow_domains: ['pypi.org', '*.test', 'denied.test', 'bad name'], allow_cidrs: ['10.0.0.0/8', 'x'], ports: [8080] })).toEqual([
        { field: 'egress.allow_domains.0', message: '"pypi.org" is outside the organisation policy\'s network.allow_domains (a request can only narrow them)' },
        { field: 'egress.allow_domains.1', message: '"*.test" is outside the workspace policy\'s network.allow_domains (a request can only narrow them)' },
        { field: 'egress.allow_domains.2', message: '"denied.test" is outside the workspace policy\'s network.allow_domains (a request can only narrow them)' },
        { field: 'egress.allow_domains.3', message: '"bad name" is not a domain name or a "*.domain" wildcard' },
        { field: 'egress.allow_cidrs.0', message: '"10.0.0.0/8" is outside the organisation policy\'s network.allow_cidrs (a request can only narrow them)' },
        { field: 'egress.allow_cidrs.1', message: '"x" is not an address or CIDR range' },
        { field: 'egress.ports.0', message: "port 8080 is not in the policy's network.allow_ports (7, 80, 443)" },
      ]);
      const open = policyOf({ deny_domains: ['*.evil.test'] });
      expect(narrowingProblems(open, { allow_domains: ['pypi.org', 'x.evil.test'] })).toEqual([
        { field: 'egress.allow_domains.1', message: '"x.evil.test" is denied by network.deny_domains "*.evil.test" (organisation policy)' },
      ]);
    });
  });
});
