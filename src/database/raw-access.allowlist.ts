// Plain data with no imports: eslint.raw-access.mjs transpiles and evaluates this file to build the
// lint rule, and test/integration/raw-access-allowlist.spec.ts checks it against TypeORM metadata.

/**
 * The kinds of raw data access the lint rule forbids in src/ (esquery selectors for no-restricted-syntax).
 * Tenant-owned rows are reached through TenantScopedRepository (@InjectScopedRepository), which puts
 * workspace_id into every statement; anything else needs an entry below.
 */
export const RAW_ACCESS_SELECTORS = {
  InjectRepository: "Decorator > CallExpression[callee.name='InjectRepository']",
  getRepository: "CallExpression[callee.property.name='getRepository']",
  createQueryBuilder: "CallExpression[callee.property.name='createQueryBuilder']",
  // SQL text on a DataSource, EntityManager, QueryRunner or pg client (`this.query(...)` is the class's own method).
  query: "CallExpression[callee.property.name='query']:not([callee.object.type='ThisExpression'])",
  // EntityManager methods that take the entity class first: manager.delete(JobEntity, ...), .update(JobEntity).
  entityManager:
    "CallExpression[callee.property.name=/^(find|findBy|findOne|findOneBy|findOneOrFail|findOneByOrFail|findAndCount|findAndCountBy|count|countBy|exists|existsBy|insert|update|upsert|delete|save|remove|softDelete|restore|increment|decrement|sum|average|minimum|maximum|create|merge|preload|clear)$/][arguments.0.type='Identifier'][arguments.0.name=/Entity$/]",
} as const;

export type RawAccessCall = keyof typeof RAW_ACCESS_SELECTORS;

export interface RawAccessEntry {
  /** Path from the repository root. */
  file: string;
  /** The kind of raw access this entry permits in the file. */
  call: RawAccessCall;
  /** Entity classes whose tables this file reaches raw (by class or by table name in SQL); [] for none (locks, `SELECT 1`). */
  entities: string[];
  /**
   * Reaches tenant-owned rows of every workspace on purpose: a system sweep (reaper, retention, expiry,
   * resume) that then acts on each row within its own workspace, or the lookup that establishes the tenant.
   */
  crossTenant?: true;
  /**
   * Reaches tenant-owned rows of one workspace and binds workspace_id itself, because the statement is
   * one the scoped repository cannot express (row locks, upserts, DELETE … RETURNING, a CAS with a count).
   * Debt, not a pattern: the spec caps how many there are.
   */
  handScoped?: true;
  /** Why raw access is needed here and why it is safe. */
  reason: string;
}

export const RAW_ACCESS_ALLOWLIST: RawAccessEntry[] = [
  // ─── The scoping mechanism itself ───────────────────────────────────────────────────────────────
  {
    file: 'src/database/tenant-scoped.repository.ts',
    call: 'getRepository',
    entities: [],
    reason: 'TenantScopedRepository.withManager: the same scoped wrapper over the transaction manager’s repository of the same entity.',
  },
  {
    file: 'src/database/tenant-scoped.repository.ts',
    call: 'createQueryBuilder',
    entities: [],
    reason: 'TenantScopedRepository.queryBuilder/updateExpression: builders that start from the workspace_id predicate.',
  },
  {
    file: 'src/database/row-statements.ts',
    call: 'query',
    entities: [],
    reason: 'insertRow/updateRows/findRow build single-row statements from the caller’s repository metadata; the scoped repository passes them its workspace_id condition.',
  },

  // ─── Not tenant data: infrastructure, locks and probes ─────────────────────────────────────────
  { file: 'src/database/embedded-postgres.ts', call: 'query', entities: [], reason: 'Starts the embedded server and creates its database (pg client, before TypeORM).' },
  { file: 'src/database/migrate.ts', call: 'query', entities: [], reason: 'The migration advisory lock around runMigrations.' },
  { file: 'src/jobs/runner-liveness.ts', call: 'query', entities: [], reason: 'Session advisory locks that tell whether a runner process is alive.' },
  { file: 'src/database/statement-timeout.ts', call: 'query', entities: [], reason: 'SET LOCAL statement_timeout in the caller’s transaction (bounded searches); reads no rows.' },
  { file: 'src/health/health.service.ts', call: 'query', entities: [], reason: 'Readiness probe: SELECT 1.' },
  { file: 'src/cli/doctor/database.check.ts', call: 'query', entities: [], reason: '`orcaops doctor`: SHOW server_version on a pg client.' },
  { file: 'src/database/installation.service.ts', call: 'getRepository', entities: ['InstallationEntity'], reason: 'The one installation row (not tenant data).' },
  { file: 'src/database/installation.service.ts', call: 'createQueryBuilder', entities: ['InstallationEntity'], reason: 'INSERT … ON CONFLICT DO NOTHING of the installation row.' },

  // ─── Organisation-level tables (no workspace_id, or a nullable one) ────────────────────────────
  { file: 'src/audit/audit.service.ts', call: 'InjectRepository', entities: ['AuditEventEntity'], reason: 'audit_events.workspace_id is nullable (auth failures, organisation actions); queries filter by the caller’s scope.' },
  { file: 'src/audit/audit.service.ts', call: 'getRepository', entities: ['AuditEventEntity'], reason: 'record() writes in the caller’s transaction.' },
  { file: 'src/audit/audit.service.ts', call: 'createQueryBuilder', entities: ['AuditEventEntity'], reason: 'Keyset-paginated query, filtered by the caller’s workspace or organisation scope.' },
  { file: 'src/policies/policies.service.ts', call: 'InjectRepository', entities: ['OrganisationPolicyEntity'], reason: 'The organisation policy: one row, no workspace.' },
  { file: 'src/policies/policies.service.ts', call: 'getRepository', entities: ['OrganisationPolicyEntity'], reason: 'Saves the organisation policy in its audited transaction.' },
  { file: 'src/secrets/secrets.service.ts', call: 'InjectRepository', entities: ['OrganisationSecretEntity'], reason: 'Organisation secrets: no workspace (inherited by all; only organisation admins change them).' },
  { file: 'src/secrets/secrets.service.ts', call: 'getRepository', entities: ['OrganisationSecretEntity'], reason: 'Writes organisation secrets (and re-seals them on key rotation) in their audited transaction.' },
  { file: 'src/quotas/quota-limits.ts', call: 'query', entities: ['QuotaLimitEntity'], reason: 'quota_limits.workspace_id is nullable (NULL = organisation default); reads and writes bind the workspace or IS NULL.' },
  { file: 'src/quotas/quotas.service.ts', call: 'query', entities: ['WorkspaceEntity'], reason: 'The per-workspace admission advisory lock, and whether a workspace exists (workspaces is the tenant table itself).' },
  { file: 'src/workspaces/workspaces.service.ts', call: 'InjectRepository', entities: ['WorkspaceEntity'], reason: 'Workspaces are the tenants, not tenant-owned rows; access is checked against the principal.' },
  { file: 'src/workspaces/workspaces.service.ts', call: 'getRepository', entities: ['WorkspaceEntity'], reason: 'Creates and updates workspaces in audited transactions.' },
  { file: 'src/workspaces/workspaces.service.ts', call: 'query', entities: ['WorkspaceEntity'], reason: 'Reads the egress grant fresh from workspaces.settings.' },
  { file: 'src/workspaces/admin-tokens.service.ts', call: 'getRepository', entities: ['AdminTokenEntity'], reason: 'Organisation admin tokens have no workspace (operator only).' },

  // ─── Across workspaces on purpose ──────────────────────────────────────────────────────────────
  {
    file: 'src/metrics/platform-gauges.ts',
    call: 'query',
    entities: ['JobEntity', 'SandboxEntity'],
    crossTenant: true,
    reason: 'Installation-wide Prometheus gauges: counts of unfinished jobs and live sandboxes by status (and the oldest queued job’s age), every 10 s; only counts leave the query, with no workspace label.',
  },
  {
    file: 'src/registries/image-cache.service.ts',
    call: 'getRepository',
    entities: ['ImagePullGrantEntity'],
    crossTenant: true,
    reason: 'The engine’s image cache is shared: the organisation admin’s image listing, prune and the LRU collector need every workspace’s pull grants for the digests on the engine (which images OrcaOps pulled, and their last use); read-only, and workspace views filter to their own workspace.',
  },
  {
    file: 'src/operator/engine-records.ts',
    call: 'query',
    entities: ['JobEntity', 'SandboxEntity', 'WorkflowRunEntity'],
    crossTenant: true,
    reason: 'Operator orphan check (org admins, audited): which job, sandbox and workflow run ids named by engine labels still have a row, in every workspace; only ids and sandbox statuses leave the query.',
  },
  {
    file: 'src/tenancy/token-auth.service.ts',
    call: 'InjectRepository',
    entities: ['ApiTokenEntity', 'AdminTokenEntity'],
    crossTenant: true,
    reason: 'Token lookup by key id: this lookup establishes the workspace, so there is none to scope by yet; only the row whose secret hash matches is used.',
  },
  {
    file: 'src/jobs/job-reconciler.service.ts',
    call: 'getRepository',
    entities: ['JobEntity'],
    crossTenant: true,
    reason: 'Reaper and recovery across every workspace (dead runners, removing containers, re-enqueue at boot); each update carries its row’s workspace_id.',
  },
  {
    file: 'src/jobs/job-reconciler.service.ts',
    call: 'createQueryBuilder',
    entities: ['JobEntity'],
    crossTenant: true,
    reason: 'The reaper’s compare-and-set updates of interrupted jobs, each bound to its row’s workspace_id.',
  },
  {
    file: 'src/jobs/job-reconciler.service.ts',
    call: 'entityManager',
    entities: ['JobEntity'],
    crossTenant: true,
    reason: 'update(JobEntity) on the reaper’s query builder (the same CAS updates).',
  },
  {
    file: 'src/jobs/job-reconciler.service.ts',
    call: 'query',
    entities: ['JobEntity', 'WorkspaceEntity'],
    crossTenant: true,
    reason: 'Retention sweep over every workspace (each workspace’s job_retention_days); each delete carries its row’s workspace_id.',
  },
  {
    file: 'src/sandboxes/sandbox-reaper.service.ts',
    call: 'getRepository',
    entities: ['SandboxEntity'],
    crossTenant: true,
    reason: 'Sandbox reaper (TTL, idle, lost containers, re-adoption after restart) over every workspace; it acts on each sandbox within its workspace.',
  },
  {
    file: 'src/environments/environment-reaper.service.ts',
    call: 'getRepository',
    entities: ['EnvironmentEntity'],
    crossTenant: true,
    reason: 'Environment reaper (an environment whose sandbox ended, recovery after a restart) over every workspace; it acts on each environment within its workspace.',
  },
  {
    file: 'src/policies/approval-requests.service.ts',
    call: 'getRepository',
    entities: ['ApprovalRequestEntity'],
    crossTenant: true,
    reason: 'Expiry sweep of pending approval requests over every workspace (system action, audited per workspace).',
  },
  {
    file: 'src/policies/approval-requests.service.ts',
    call: 'createQueryBuilder',
    entities: ['ApprovalRequestEntity'],
    crossTenant: true,
    reason: 'The expiry sweep’s SELECT … FOR UPDATE SKIP LOCKED (several servers sweep at once).',
  },
  {
    file: 'src/sessions/sessions.service.ts',
    call: 'getRepository',
    entities: ['AgentSessionEntity', 'JobEntity', 'WorkflowRunEntity'],
    crossTenant: true,
    reason: 'Idle expiry of agent sessions over every workspace; the subqueries on jobs and workflow_runs join on the session’s workspace_id.',
  },
  {
    file: 'src/sessions/sessions.service.ts',
    call: 'createQueryBuilder',
    entities: ['AgentSessionEntity'],
    crossTenant: true,
    reason: 'The idle sweep’s candidates and its compare-and-set end, bound to each session’s workspace_id.',
  },
  {
    file: 'src/sessions/sessions.service.ts',
    call: 'entityManager',
    entities: ['AgentSessionEntity'],
    crossTenant: true,
    reason: 'update(AgentSessionEntity) on the idle sweep’s query builder.',
  },
  {
    file: 'src/workflows/runner/workflow-instance-store.ts',
    call: 'getRepository',
    entities: ['WorkflowRunEntity'],
    crossTenant: true,
    reason: 'The runner’s resume scan lists running runs of every workspace; each claim and all later work go through the scoped repositories.',
  },
  {
    file: 'src/workflows/sources/workflow-sources.service.ts',
    call: 'query',
    entities: ['WorkflowSourceEntity', 'WorkflowRunEntity'],
    crossTenant: true,
    reason: 'Retention of uploaded sources over every workspace (not used by a running run of the same workspace).',
  },
  {
    file: 'src/workflows/workflows.service.ts',
    call: 'query',
    entities: ['WorkflowRunEntity', 'WorkspaceEntity'],
    crossTenant: true,
    reason: 'Retention of finished runs over every workspace (each workspace’s job_retention_days); each delete goes through the scoped repository.',
  },
  {
    file: 'src/egress/egress-event-log.ts',
    call: 'query',
    entities: ['EgressEventEntity', 'EgressUsageDayEntity'],
    crossTenant: true,
    reason: 'Hourly retention of the egress log and byte counters over every workspace: each row is deleted by its own workspace’s job_retention_days (joined on workspace_id).',
  },

  // ─── One workspace, workspace_id bound by hand (statements the scoped repository cannot express) ─
  {
    file: 'src/jobs/job-slots.ts',
    call: 'createQueryBuilder',
    entities: ['JobEntity'],
    handScoped: true,
    reason: 'The claim: one CAS UPDATE on workspace_id and id with a running-jobs count subquery of the same workspace_id (the per-workspace cap).',
  },
  {
    file: 'src/jobs/job-slots.ts',
    call: 'entityManager',
    entities: ['JobEntity'],
    handScoped: true,
    reason: 'update(JobEntity) on the claim’s query builder (workspace_id in its where).',
  },
  {
    file: 'src/jobs/jobs.service.ts',
    call: 'createQueryBuilder',
    entities: ['JobEntity'],
    handScoped: true,
    reason: 'deleteFinished: DELETE … WHERE workspace_id AND id IN (…) AND finished RETURNING id, in the caller’s transaction.',
  },
  {
    file: 'src/quotas/quota-usage.ts',
    call: 'query',
    entities: ['QuotaUsageDayEntity', 'JobEntity', 'SandboxEntity', 'JobArtifactEntity', 'WorkflowInstanceEntity', 'WorkflowSourceEntity', 'EnvironmentEntity'],
    handScoped: true,
    reason: 'Usage aggregates (count, SUM over intervals: jobs, sandboxes, artifacts, workflow and environment service reservations and uploaded sources) and the ledger upsert (INSERT … ON CONFLICT DO UPDATE), each bound to workspace_id = $1.',
  },
  {
    file: 'src/session-links/session-links.service.ts',
    call: 'query',
    entities: ['AgentSessionEntity'],
    handScoped: true,
    reason: 'lockOpen: SELECT … WHERE id AND workspace_id FOR SHARE inside the admitting transaction.',
  },
];
