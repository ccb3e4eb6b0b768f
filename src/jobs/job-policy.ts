import type { JobSpec } from 'src/jobs/job-model';
import type { PolicyRequest } from 'src/policies/policy-model';

/** What a job asks of the security policy: image, every step's command, network, resources, time, secrets by name. */
export function jobPolicyRequest(spec: JobSpec): PolicyRequest {
  return {
    kind: 'job',
    image: spec.image,
    pull_policy: spec.pull_policy,
    commands: spec.steps.map((step, i) =>
      step.command !== undefined
        ? { field: `steps.${i}.command`, command: step.command }
        : { field: `steps.${i}.args`, command: (step.args ?? []).join(' ') },
    ),
    network: spec.network,
    ...(spec.egress ? { egress: spec.egress } : {}),
    resources: spec.resources,
    timeout_seconds: spec.timeout_seconds,
    secrets: [...new Set(Object.values(spec.secrets ?? {}))],
  };
}
