import { EgressEventLog } from 'src/egress/egress-event-log';
import { egressTools } from 'src/mcp/tools/egress.tools';
import { Injectable, Logger } from '@nestjs/common';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { AuditService } from 'src/audit/audit.service';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { JobsService } from 'src/jobs/jobs.service';
import type { ContextResolver, OrcaTool } from 'src/mcp/tool-kit';
import { registerOrcaTool, resourceId } from 'src/mcp/tool-kit';
import { recoveryHint } from 'src/mcp/tool-errors';
import { RunSearchService } from 'src/jobs/records/run-search.service';
import { historyTools } from 'src/mcp/tools/history.tools';
import { jobTools } from 'src/mcp/tools/jobs.tools';
import { learningTools } from 'src/mcp/tools/learning.tools';
import { RunBaselines } from 'src/learning/run-baselines.service';
import { registryTools } from 'src/mcp/tools/registries.tools';
import { ImageCacheService } from 'src/registries/image-cache.service';
import { RegistryCredentialsService } from 'src/registries/registry-credentials.service';
import { metricsTools } from 'src/mcp/tools/metrics.tools';
import { MetricsService } from 'src/metrics/metrics.service';
import { sandboxTools } from 'src/mcp/tools/sandboxes.tools';
import { previewTools } from 'src/mcp/tools/previews.tools';
import { PreviewsService } from 'src/sandboxes/previews/previews.service';
import { sandboxHistoryTools } from 'src/mcp/tools/sandbox-history.tools';
import { SandboxHistoryService } from 'src/sandboxes/history/sandbox-history.service';
import { secretTools } from 'src/mcp/tools/secrets.tools';
import { sessionTools } from 'src/mcp/tools/sessions.tools';
import { SessionsService } from 'src/sessions/sessions.service';
import { SecretsService } from 'src/secrets/secrets.service';
import { workflowTools } from 'src/mcp/tools/workflows.tools';
import { environmentTools } from 'src/mcp/tools/environments.tools';
import { EnvironmentsService } from 'src/environments/environments.service';
import { SandboxExecService } from 'src/sandboxes/interaction/sandbox-exec.service';
import { SandboxFilesService } from 'src/sandboxes/interaction/sandbox-files.service';
import { SandboxProcessesService } from 'src/sandboxes/interaction/sandbox-processes.service';
import { SandboxShellsService } from 'src/sandboxes/interaction/sandbox-shells.service';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import type { TenantContext } from 'src/tenancy/tenant-context';
import { WorkflowsService } from 'src/workflows/workflows.service';

export const MCP_SERVER_INFO = { name: 'orcaops', version: '0.1.0' };

const INSTRUCTIONS =
  'OrcaOps runs code in locked-down containers for this workspace. run_job: one-off code, waits for the result. ' +
  'create_sandbox + shell/exec/write_file/read_file: several steps that share files and shell state; delete_sandbox when done. ' +
  'run_workflow: a multi-job GitHub Actions-style workflow (needs, matrix, services, outputs). ' +
  'create_environment: a sandbox plus a database, cache or mock API reachable by name from it. ' +
  'Failed calls return an error whose text says what to do next.';

/** Resource reads fail as JSON-RPC errors (-32002 resource not found; others carry the code and hint). */
function toResourceError(error: unknown): Error {
  if (error instanceof OrcaOpsError) {
    const code = error.code === 'not_found' ? -32002 : -32603;
    return new McpError(code, `${error.code}: ${error.message}. ${recoveryHint(error.code)}`, { code: error.code });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Builds one MCP server per session over the services REST uses. Tools take the caller's context
 * for each call from `resolve` (HTTP: the authenticated request that carried the call), so a token's
 * current role applies even within a long session.
 */
@Injectable()
export class McpServerFactory {
  private readonly logger = new Logger('McpServer');
  readonly tools: OrcaTool[];

  constructor(
    private readonly audit: AuditService,
    private readonly jobs: JobsService,
    sandboxes: SandboxesService,
    exec: SandboxExecService,
    shells: SandboxShellsService,
    processes: SandboxProcessesService,
    files: SandboxFilesService,
    workflows: WorkflowsService,
    registryCredentials: RegistryCredentialsService,
    metrics: MetricsService,
    search: RunSearchService,
    egressLog: EgressEventLog,
    secrets: SecretsService,
    sandboxHistory: SandboxHistoryService,
    baselines: RunBaselines,
    environments: EnvironmentsService,
    previews: PreviewsService,
    imageCache: ImageCacheService,
    sessions: SessionsService,
  ) {
    this.tools = [
      ...jobTools(jobs),
      ...sandboxTools({ sandboxes, exec, shells, processes, files }),
      ...sandboxHistoryTools(sandboxHistory),
      ...previewTools(previews),
      ...historyTools(search, workflows),
      ...learningTools(baselines),
      ...workflowTools(workflows),
      ...environmentTools(environments),
      ...registryTools(registryCredentials, imageCache),
      ...metricsTools(metrics),
      ...egressTools(egressLog),
      ...secretTools(secrets),
      ...sessionTools(sessions),
    ];
  }

  /** One server (tools + resources) for one session of one principal. */
  createMcpServer(base: TenantContext, resolve: ContextResolver = () => base): McpServer {
    const server = new McpServer(MCP_SERVER_INFO, {
      capabilities: { logging: {}, tools: { listChanged: false }, resources: { listChanged: false } },
      instructions: INSTRUCTIONS,
    });
    for (const tool of this.tools) registerOrcaTool(server, tool, resolve, this.logger, (ctx, t) => this.recordDenied(ctx, t));
    this.registerResources(server, resolve);
    return server;
  }

  /** The same audit row the HTTP guard writes for a REST route the token may not call. */
  private async recordDenied(ctx: TenantContext, tool: OrcaTool): Promise<void> {
    await this.audit
      .record(ctx, { action: 'auth.forbidden', outcome: 'denied', details: { required: tool.permission, tool: tool.name } })
      .catch((error: unknown) => this.logger.error({ msg: 'audit write failed', action: 'auth.forbidden', err: String(error) }));
  }

  private registerResources(server: McpServer, resolve: ContextResolver): void {
    server.registerResource(
      'job',
      new ResourceTemplate('orcaops://jobs/{id}', {
        list: async (extra) => {
          const page = await this.jobs.list(resolve(extra), { limit: 20 }).catch(() => ({ items: [] }));
          return { resources: page.items.map((j) => ({ uri: `orcaops://jobs/${j.id}`, name: `job ${j.id} (${j.status})`, mimeType: 'application/json' })) };
        },
      }),
      { title: 'Job record', description: 'A job and its run record as JSON (the 20 newest are listed)', mimeType: 'application/json' },
      async (uri, variables, extra) => {
        try {
          const job = await this.jobs.get(resolve(extra), resourceId('job', String(variables.id)));
          return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(job, null, 2) }] };
        } catch (error) {
          throw toResourceError(error);
        }
      },
    );
    server.registerResource(
      'job-logs',
      new ResourceTemplate('orcaops://jobs/{id}/logs', { list: undefined }),
      { title: 'Job output', description: 'The output of a job as text (the last 5000 chunks)', mimeType: 'text/plain' },
      async (uri, variables, extra) => {
        try {
          const page = await this.jobs.readLogs(resolve(extra), resourceId('job', String(variables.id)), { tail: 5000 });
          return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: page.items.map((c) => c.data).join('') }] };
        } catch (error) {
          throw toResourceError(error);
        }
      },
    );
  }
}
