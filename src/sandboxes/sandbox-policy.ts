import type { PolicyRequest } from 'src/policies/policy-model';
import type { SandboxSpec } from 'src/sandboxes/sandbox-model';

/** What a sandbox asks of the security policy at creation (commands are checked on each exec). */
export function sandboxPolicyRequest(spec: SandboxSpec): PolicyRequest {
  return {
    kind: 'sandbox',
    image: spec.image,
    pull_policy: spec.pull_policy,
    commands: [],
    network: spec.network,
    ...(spec.egress ? { egress: spec.egress } : {}),
    resources: spec.resources,
    ttl_seconds: spec.ttl_seconds,
    secrets: [...new Set(Object.values(spec.secrets ?? {}))],
  };
}

/** One command run in a live sandbox, as the command deny rules see it. */
export function sandboxCommand(spec: { command?: string; args?: string[] }): PolicyRequest['commands'] {
  return spec.command !== undefined && spec.command.length > 0
    ? [{ field: 'command', command: spec.command }]
    : [{ field: 'args', command: (spec.args ?? []).join(' ') }];
}
