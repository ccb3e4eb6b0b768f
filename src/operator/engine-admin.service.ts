import { Inject, Injectable } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { AuditService } from 'src/audit/audit.service';
import { notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { InstallationService } from 'src/database/installation.service';
import type { EngineContainerInspectResponseDto, EngineGcResponseDto, EngineLogsResponseDto, EngineObjectResponseDto } from 'src/operator/dto/engine-admin.dto';
import type { EngineObject, EngineObjectType, OrphanFacts, RawEngineObject } from 'src/operator/engine-objects';
import { describeObject, GC_ORDER, recordRefs } from 'src/operator/engine-objects';
import { EngineRecords } from 'src/operator/engine-records';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';
import { assertPermission } from 'src/tenancy/assert-permission';
import { TenantContext } from 'src/tenancy/tenant-context';

/** Every object OrcaOps manages carries this label; nothing without it is ever listed or touched. */
const MANAGED = { 'orcaops.managed': 'true' };
const REF = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;
export const DEFAULT_LOG_TAIL_BYTES = 64 * 1024;

export interface EngineListFilter {
  orphans?: boolean;
  type?: EngineObjectType;
}

/**
 * Operator views of the engine (issue 20 item 4), for organisation admins through REST
 * (`/v1/admin/engine`) and `orcaops admin ps|logs|inspect|stop|rm|gc`. Every action is audited; only
 * objects labelled `orcaops.managed` are seen or touched.
 */
@Injectable()
export class EngineAdminService {
  constructor(
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly installation: InstallationService,
    private readonly records: EngineRecords,
    private readonly audit: AuditService,
  ) {}

  async list(ctx: TenantContext, filter: EngineListFilter = {}): Promise<EngineObjectResponseDto[]> {
    assertPermission(ctx, 'org:admin');
    const objects = (await this.describeAll(filter.type)).filter((o) => !filter.orphans || o.orphan);
    await this.audit.record(ctx, { action: 'engine.listed', resourceType: 'engine', details: { count: objects.length, orphans: objects.filter((o) => o.orphan).length, ...filter }, workspaceId: null });
    return objects.map(toEngineObjectResponse);
  }

  async inspect(ctx: TenantContext, ref: string): Promise<EngineContainerInspectResponseDto> {
    assertPermission(ctx, 'org:admin');
    const object = await this.findContainer(ref);
    const state = await this.runtime.inspect(object.id);
    if (!state) throw notFound('container', ref);
    await this.recordAction(ctx, 'engine.inspected', object);
    return {
      ...toEngineObjectResponse(object),
      status: state.status,
      exit_code: state.exitCode,
      oom_killed: state.oomKilled,
      started_at: state.startedAt,
      finished_at: state.finishedAt,
      health: state.health ?? 'none',
    };
  }

  async logs(ctx: TenantContext, ref: string, tailBytes = DEFAULT_LOG_TAIL_BYTES): Promise<EngineLogsResponseDto> {
    assertPermission(ctx, 'org:admin');
    const object = await this.findContainer(ref);
    const logs = await this.runtime.logs(object.id, tailBytes);
    await this.recordAction(ctx, 'engine.logs_read', object, { tail_bytes: tailBytes });
    return { id: object.id, logs };
  }

  async stop(ctx: TenantContext, ref: string): Promise<EngineObjectResponseDto> {
    assertPermission(ctx, 'org:admin');
    const object = await this.findContainer(ref);
    await this.runtime.kill(object.id);
    await this.recordAction(ctx, 'engine.container_stopped', object);
    return toEngineObjectResponse(object);
  }

  async remove(ctx: TenantContext, type: EngineObjectType, ref: string): Promise<EngineObjectResponseDto> {
    assertPermission(ctx, 'org:admin');
    const object = await this.find(type, ref);
    if (object.kind === 'egress') throw new OrcaOpsError('conflict', 'The egress network is shared by every installation on this engine; it is not removed by hand');
    await this.removeObject(object);
    await this.recordAction(ctx, `engine.${type}_removed`, object);
    return toEngineObjectResponse(object);
  }

  /** Removes every orphan (containers, then volumes, then networks); with dryRun only lists them. */
  async gc(ctx: TenantContext, dryRun: boolean): Promise<EngineGcResponseDto> {
    assertPermission(ctx, 'org:admin');
    const orphans = (await this.describeAll()).filter((o) => o.orphan);
    orphans.sort((a, b) => GC_ORDER.indexOf(a.type) - GC_ORDER.indexOf(b.type));
    const removed: EngineObject[] = [];
    const failed: EngineGcResponseDto['failed'] = [];
    for (const object of orphans) {
      if (dryRun) {
        removed.push(object);
        continue;
      }
      try {
        await this.removeObject(object);
        removed.push(object);
      } catch (error) {
        failed.push({ type: object.type, id: object.id, error: error instanceof Error ? error.message : String(error) });
      }
    }
    await this.audit.record(ctx, {
      action: 'engine.gc',
      resourceType: 'engine',
      outcome: failed.length ? 'failure' : 'success',
      workspaceId: null,
      details: { dry_run: dryRun, removed: countByKind(removed), failed: failed.length, ids: removed.slice(0, 100).map((o) => o.id) },
    });
    return { dry_run: dryRun, removed: removed.map(toEngineObjectResponse), failed };
  }

  private async removeObject(object: EngineObject): Promise<void> {
    if (object.type === 'container') await this.runtime.remove(object.id);
    else if (object.type === 'volume') await this.runtime.removeVolume(object.name);
    else await this.runtime.removeNetwork(object.name);
  }

  private async findContainer(ref: string): Promise<EngineObject> {
    return this.find('container', ref);
  }

  /** A managed object by container id (or a unique prefix of 12+), or by name; anything else is not found. */
  private async find(type: EngineObjectType, ref: string): Promise<EngineObject> {
    if (!REF.test(ref)) throw notFound(type, ref);
    const raw = await this.listRaw(type);
    const exact = raw.filter((o) => o.id === ref || o.name === ref);
    const matches = exact.length ? exact : type === 'container' && ref.length >= 12 ? raw.filter((o) => o.id.startsWith(ref)) : [];
    const [object] = matches;
    if (!object || matches.length > 1) throw notFound(type, ref);
    return (await this.describe([object]))[0] as EngineObject;
  }

  private async describeAll(type?: EngineObjectType): Promise<EngineObject[]> {
    const types = type ? [type] : GC_ORDER;
    const raw = (await Promise.all(types.map((t) => this.listRaw(t)))).flat();
    return this.describe(raw);
  }

  private async describe(raw: RawEngineObject[]): Promise<EngineObject[]> {
    const facts = await this.facts(raw);
    const now = Date.now();
    return raw.map((o) => describeObject(o, facts, now));
  }

  private async listRaw(type: EngineObjectType): Promise<RawEngineObject[]> {
    if (type === 'container') {
      return (await this.runtime.listContainers(MANAGED)).map((c) => ({ type, id: c.id, name: c.name, status: c.status, labels: c.labels, createdAt: c.createdAt }));
    }
    const list = type === 'volume' ? await this.runtime.listVolumes(MANAGED) : await this.runtime.listNetworks(MANAGED);
    return list.map((o) => ({ type, id: o.name, name: o.name, labels: o.labels, createdAt: o.createdAt }));
  }

  private async facts(raw: RawEngineObject[]): Promise<OrphanFacts> {
    const installationId = await this.installation.installationId();
    const ours = raw.filter((o) => o.labels['orcaops.install'] === installationId);
    const refs = ours.map((o) => recordRefs(o.labels));
    const owners = ours.filter((o) => o.labels['orcaops.kind'] === 'pool').map((o) => o.labels['orcaops.pool_owner'] ?? '').filter(Boolean);
    const [records, goneOwners] = await Promise.all([
      this.records.existing({ jobs: refs.flatMap((r) => r.jobs), sandboxes: refs.flatMap((r) => r.sandboxes), runs: refs.flatMap((r) => r.runs) }),
      this.records.goneOwners(owners),
    ]);
    return { installationId, hostname: hostname(), ...records, goneOwners, homeExists: (path) => existsSync(path) };
  }

  private async recordAction(ctx: TenantContext, action: string, object: EngineObject, extra: Record<string, unknown> = {}): Promise<void> {
    await this.audit.record(ctx, {
      action,
      resourceType: object.type,
      resourceId: object.id.slice(0, 64),
      workspaceId: null,
      details: { name: object.name, kind: object.kind, workspace_id: object.workspaceId, installation_id: object.installationId, orphan_reason: object.orphanReason, ...extra },
    });
  }
}

function countByKind(objects: EngineObject[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of objects) counts[o.kind] = (counts[o.kind] ?? 0) + 1;
  return counts;
}

export function toEngineObjectResponse(o: EngineObject): EngineObjectResponseDto {
  return {
    type: o.type,
    id: o.id,
    name: o.name,
    kind: o.kind,
    status: o.status,
    workspace_id: o.workspaceId,
    installation_id: o.installationId,
    this_installation: o.thisInstallation,
    created_at: o.createdAt,
    age_seconds: o.ageSeconds,
    orphan: o.orphan,
    orphan_reason: o.orphanReason,
    labels: o.labels,
  };
}
