import { Inject } from '@nestjs/common';
import { getRepositoryToken } from '@nestjs/typeorm';
import { findRow, insertRow, isPlainPatch, isPlainWhere, updateRows } from 'src/database/row-statements';
import type {
  DeepPartial,
  EntityManager,
  FindOptionsOrder,
  FindOptionsSelect,
  FindOptionsWhere,
  ObjectLiteral,
  Repository,
  SelectQueryBuilder,
} from 'typeorm';

type Where<T> = FindOptionsWhere<T>;

export interface ScopedFindOptions<T> {
  where?: Where<T> | Where<T>[];
  select?: FindOptionsSelect<T>;
  order?: FindOptionsOrder<T>;
  take?: number;
  skip?: number;
}

/**
 * The tenant boundary in the data layer: every method takes workspaceId first and puts it into every
 * query, so a service cannot read or change another workspace's rows by forgetting a filter.
 */
/**
 * Values for updateExpression: a column's value, or a SQL expression over the row (`() => 'attempts ||
 * :record::jsonb'`) whose named parameters are passed separately.
 */
export type ExpressionPatch<T> = { [K in keyof T]?: T[K] | (() => string) };

/** Any row with a NOT NULL workspace_id. */
export interface TenantOwned {
  workspaceId: string;
}

export class TenantScopedRepository<T extends TenantOwned & ObjectLiteral> {
  constructor(private readonly repository: Repository<T>) {}

  /** The same scoping inside a transaction. */
  withManager(manager: EntityManager): TenantScopedRepository<T> {
    return new TenantScopedRepository(manager.getRepository<T>(this.repository.target));
  }

  private scope(workspaceId: string, where?: Where<T> | Where<T>[]): Where<T> | Where<T>[] {
    if (!workspaceId) throw new Error('TenantScopedRepository: workspaceId is required');
    const withTenant = (w: Where<T>): Where<T> => ({ ...w, workspaceId });
    if (Array.isArray(where)) return where.map(withTenant);
    return withTenant(where ?? ({}));
  }

  find(workspaceId: string, options: ScopedFindOptions<T> = {}): Promise<T[]> {
    return this.repository.find({ ...options, where: this.scope(workspaceId, options.where) });
  }

  findOne(workspaceId: string, where: Where<T>): Promise<T | null> {
    const scoped = this.scope(workspaceId, where);
    // Plain conditions (the common case: by id, on every read and wait): one statement from metadata.
    if (!Array.isArray(scoped) && isPlainWhere(scoped)) return findRow(this.repository, scoped);
    return this.repository.findOne({ where: scoped });
  }

  count(workspaceId: string, where?: Where<T>): Promise<number> {
    return this.repository.count({ where: this.scope(workspaceId, where) });
  }

  /** Inserts one row (insertRow: one INSERT … RETURNING); columns not given take their database defaults. */
  insert(workspaceId: string, values: DeepPartial<T>): Promise<T> {
    return insertRow<T>(this.repository, { ...values, workspaceId });
  }

  /**
   * Inserts several rows of one workspace in one statement (TypeORM's insert); each row's workspaceId
   * is replaced by the given one.
   */
  async insertMany(workspaceId: string, rows: Array<DeepPartial<T>>): Promise<void> {
    if (!workspaceId) throw new Error('TenantScopedRepository: workspaceId is required');
    if (!rows.length) return;
    await this.repository.insert(rows.map((row) => ({ ...row, workspaceId })));
  }

  /** Returns the number of rows changed (0 when the row is missing or belongs to another tenant). */
  async update(workspaceId: string, where: Where<T>, patch: Partial<T>): Promise<number> {
    const { workspaceId: _ignored, ...safePatch } = patch as Partial<T> & ObjectLiteral;
    const scoped = this.scope(workspaceId, where);
    // Plain conditions and values (the common case, on every job's run path): one statement from metadata.
    if (!Array.isArray(scoped) && isPlainWhere(scoped) && isPlainPatch(safePatch)) return updateRows(this.repository, scoped, safePatch as Partial<T>);
    const result = await this.repository.update(scoped, safePatch as never);
    return result.affected ?? 0;
  }

  /**
   * An UPDATE whose values may be SQL expressions over the row itself (jsonb_set, ||), so a change that
   * depends on the stored value stays one atomic statement; `parameters` binds their named parameters.
   * Scoped like update(); the update-date column is set to now. Returns the number of rows changed.
   */
  async updateExpression(workspaceId: string, where: Where<T>, patch: ExpressionPatch<T>, parameters: ObjectLiteral = {}): Promise<number> {
    const { workspaceId: _ignored, ...safePatch } = patch as ExpressionPatch<T> & ObjectLiteral;
    const result = await this.repository
      .createQueryBuilder()
      .update()
      // The value types are checked by ExpressionPatch; TypeORM's deep-partial type of recursive JSON columns does not terminate.
      .set(safePatch as never)
      .where(this.scope(workspaceId, where))
      .setParameters(parameters)
      .execute();
    return result.affected ?? 0;
  }

  async delete(workspaceId: string, where: Where<T>): Promise<number> {
    const result = await this.repository.delete(this.scope(workspaceId, where));
    return result.affected ?? 0;
  }

  /** Escape hatch for complex reads: the workspace predicate is already applied. */
  queryBuilder(workspaceId: string, alias: string): SelectQueryBuilder<T> {
    return this.repository
      .createQueryBuilder(alias)
      .where(`${alias}.workspace_id = :__workspaceId`, { __workspaceId: workspaceId });
  }
}

const tokenFor = (entity: { name: string }): string => `TenantScopedRepository<${entity.name}>`;

/** Provider for a scoped repository of one tenant-owned entity. */
export function provideScopedRepository(entity: new () => TenantOwned) {
  return {
    provide: tokenFor(entity),
    inject: [getRepositoryToken(entity)],
    useFactory: (repository: Repository<TenantOwned>) => new TenantScopedRepository(repository),
  };
}

export const InjectScopedRepository = (entity: new () => TenantOwned): ParameterDecorator =>
  Inject(tokenFor(entity));
