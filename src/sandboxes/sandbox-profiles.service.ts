import { Injectable } from '@nestjs/common';
import { invalidField, notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { JobResponseDto } from 'src/jobs/dto/job-response.dto';
import { JobsService } from 'src/jobs/jobs.service';
import { CreateSandboxDto, RunSandboxProfileDto } from 'src/sandboxes/dto/create-sandbox.dto';
import { SandboxProfileResponseDto } from 'src/sandboxes/dto/sandbox-response.dto';
import { DEFAULT_IDLE_TIMEOUT_SECONDS, DEFAULT_SANDBOX_RESOURCES, DEFAULT_TTL_SECONDS, SandboxSpec } from 'src/sandboxes/sandbox-model';
import { SandboxProfile, SandboxProfileCatalog } from 'src/sandboxes/sandbox-profiles';
import { toProfileResponse } from 'src/sandboxes/sandboxes.mappers';
import { assertPermission } from 'src/tenancy/assert-permission';
import { TenantContext } from 'src/tenancy/tenant-context';

/** `secrets` only when there are some (a spec without them reads exactly as before secrets existed). */
function secretsOf(secrets: Record<string, string>): { secrets?: Record<string, string> } {
  return Object.keys(secrets).length ? { secrets } : {};
}

/**
 * Sandbox profiles (sandboxes.yml): the catalog as front ends see it, a create request resolved into a
 * sandbox spec (image or profile, with defaults), and a profile's one-shot run as a job (JobsService).
 */
@Injectable()
export class SandboxProfilesService {
  constructor(
    private readonly catalog: SandboxProfileCatalog,
    private readonly jobs: JobsService,
  ) {}

  /** A create request as a sandbox spec: the request's values over its profile's, then the defaults. */
  specFor(dto: CreateSandboxDto): SandboxSpec {
    if (!dto.image && !dto.profile) throw invalidField('image', 'give an image or a profile');
    const profile = dto.profile ? this.profile(dto.profile) : undefined;
    if (profile) this.assertUsable(profile);
    const strip = <T extends object>(v: T): Partial<T> => Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as Partial<T>;
    return {
      image: dto.image ?? profile!.image,
      // The profile's pull policy goes with its image only: a request naming its own image has its own default.
      pull_policy: dto.pull_policy ?? (dto.image ? undefined : profile?.pull_policy),
      profile: profile?.name ?? null,
      resources: { ...DEFAULT_SANDBOX_RESOURCES, ...profile?.resources, ...strip(dto.resources ?? {}) },
      env: { ...profile?.env, ...dto.env },
      ...secretsOf({ ...profile?.secrets, ...dto.secrets }),
      network: dto.network ?? 'none',
      ...(dto.egress ? { egress: strip({ ...dto.egress }) } : {}),
      ttl_seconds: dto.ttl_seconds ?? DEFAULT_TTL_SECONDS,
      idle_timeout_seconds: dto.idle_timeout_seconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS,
      labels: dto.labels ?? {},
      metadata: dto.metadata ?? {},
    };
  }

  listProfiles(ctx: TenantContext): SandboxProfileResponseDto[] {
    assertPermission(ctx, 'sandbox:read');
    return this.catalog.profiles.map(toProfileResponse);
  }

  /**
   * A one-shot run of a profile, as a job (same runner, hardening, cleanup policies and records). The
   * profile's success_exit_codes decide the job's status (and so what its cleanup policy does with it);
   * they are also copied into the job's metadata so a reader sees why exit 1 succeeded.
   */
  async runProfile(ctx: TenantContext, name: string, dto: RunSandboxProfileDto): Promise<JobResponseDto> {
    assertPermission(ctx, 'job:create');
    const profile = this.profile(name);
    this.assertUsable(profile);
    if (!profile.command) throw invalidField('profile', `profile ${name} has no command to run`);
    const { job } = await this.jobs.submit(ctx, {
      image: profile.image,
      pull_policy: profile.pull_policy,
      steps: [{ args: profile.command }],
      env: { ...profile.env, ...dto.env },
      ...secretsOf(profile.secrets),
      resources: profile.resources,
      timeout_seconds: profile.timeout_seconds,
      cleanup_policy: profile.cleanup_policy,
      metadata: { sandbox_profile: name, success_exit_codes: profile.success_exit_codes.join(',') },
      triggered_by: 'sandbox-profile',
      intent: dto.intent,
    }, undefined, { success_exit_codes: profile.success_exit_codes });
    return job;
  }

  private profile(name: string): SandboxProfile {
    const profile = this.catalog.get(name);
    if (!profile) throw notFound('sandbox profile', name);
    return profile;
  }

  /** Publishing ports is not enabled on this server: a profile that declares them is refused, not silently stripped. */
  private assertUsable(profile: SandboxProfile): void {
    if (profile.ports.length) {
      throw new OrcaOpsError('policy_denied', `profile ${profile.name} publishes ports, which this server does not allow`, {
        violations: [{ rule: 'ports', message: 'publishing container ports is not enabled' }],
      });
    }
  }
}
