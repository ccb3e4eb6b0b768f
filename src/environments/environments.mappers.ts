import type { EnvironmentResponseDto, EnvironmentTemplateResponseDto } from 'src/environments/dto/environment-response.dto';
import type { EnvironmentEntity } from 'src/environments/entities/environment.entity';
import type { EnvironmentTemplate } from 'src/environments/environment-definition';
import { renderEnvironmentFile } from 'src/environments/environment-definition';
import { DEFAULT_ENVIRONMENT_SANDBOX_IMAGE } from 'src/environments/environment-lifecycle.service';

export function toEnvironmentResponse(e: EnvironmentEntity): EnvironmentResponseDto {
  return {
    id: e.id,
    workspace_id: e.workspaceId,
    name: e.name,
    template: e.template,
    status: e.status,
    message: e.message,
    sandbox_id: e.sandboxId,
    services: e.services.map((s) => ({ name: s.name, image: s.image, status: s.status })),
    events: e.events,
    ttl_seconds: e.ttlSeconds,
    idle_timeout_seconds: e.idleTimeoutSeconds,
    created_at: e.createdAt.toISOString(),
    stopped_at: e.stoppedAt?.toISOString() ?? null,
  };
}

export function toTemplateResponse(t: EnvironmentTemplate): EnvironmentTemplateResponseDto {
  return {
    name: t.name,
    description: t.description ?? null,
    sandbox: t.sandbox.profile ? `profile ${t.sandbox.profile}` : (t.sandbox.image ?? DEFAULT_ENVIRONMENT_SANDBOX_IMAGE),
    services: t.services.map((s) => ({ name: s.id, image: s.image })),
    file: renderEnvironmentFile(t),
  };
}
