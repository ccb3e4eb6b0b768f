import type { SandboxProfileResponseDto, SandboxResponseDto } from 'src/sandboxes/dto/sandbox-response.dto';
import type { SandboxEntity } from 'src/sandboxes/entities/sandbox.entity';
import type { SandboxProfile } from 'src/sandboxes/sandbox-profiles';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** The API's view of a sandbox: no container ids, runner ids or env values (hardening.md §5.1 API3). */
export function toSandboxResponse(s: SandboxEntity): SandboxResponseDto {
  const spec = s.spec;
  return {
    id: s.id,
    workspace_id: s.workspaceId,
    session_id: s.sessionId,
    name: s.name,
    status: s.status,
    exit_reason: s.exitReason,
    message: s.message,
    image: s.image,
    image_digest: s.imageDigest,
    pull_policy: spec.pull_policy ?? 'if_not_present',
    profile: spec.profile,
    resources: spec.resources,
    network: spec.network,
    env_keys: Object.keys(spec.env).sort(),
    secrets: spec.secrets ?? {},
    labels: spec.labels,
    metadata: spec.metadata,
    ttl_seconds: spec.ttl_seconds,
    idle_timeout_seconds: spec.idle_timeout_seconds,
    pooled: s.pooled,
    created_at: s.createdAt.toISOString(),
    ready_at: iso(s.readyAt),
    expires_at: s.expiresAt.toISOString(),
    last_activity_at: s.lastActivityAt.toISOString(),
    stopped_at: iso(s.stoppedAt),
  };
}

/** Env values of a profile may be operator secrets-in-waiting: only the keys are listed. */
export function toProfileResponse(p: SandboxProfile): SandboxProfileResponseDto {
  return {
    name: p.name,
    description: p.description,
    image: p.image,
    pull_policy: p.pull_policy,
    command: p.command,
    resources: p.resources,
    timeout_seconds: p.timeout_seconds,
    env_keys: Object.keys(p.env).sort(),
    secrets: p.secrets,
    ports: p.ports,
    cleanup_policy: p.cleanup_policy,
    success_exit_codes: p.success_exit_codes,
  };
}
