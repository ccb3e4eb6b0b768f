import { z } from 'zod';
import { validateDto } from 'src/common/validation';
import { CreateEnvironmentDto } from 'src/environments/dto/create-environment.dto';
import type { EnvironmentResponseDto } from 'src/environments/dto/environment-response.dto';
import { ENVIRONMENT_STATUSES } from 'src/environments/environment-model';
import type { EnvironmentsService } from 'src/environments/environments.service';
import type { OrcaTool } from 'src/mcp/tool-kit';
import { defineTool, resourceId } from 'src/mcp/tool-kit';

/**
 * How long create_environment waits for the services and the sandbox before answering "starting":
 * under the MCP SDK clients' default 60 s request timeout (get_environment keeps watching after it).
 */
const CREATE_WAIT_MS = 50_000;

const environmentOutput = z.object({
  id: z.string(),
  name: z.string().nullable(),
  template: z.string().nullable(),
  status: z.string(),
  message: z.string().nullable(),
  sandbox_id: z.string().nullable(),
  services: z.array(z.object({ name: z.string(), image: z.string(), status: z.string() })),
  events: z.array(z.string()),
  created_at: z.string(),
  stopped_at: z.string().nullable(),
});

function compact(e: EnvironmentResponseDto): z.infer<typeof environmentOutput> {
  return {
    id: e.id,
    name: e.name,
    template: e.template,
    status: e.status,
    message: e.message,
    sandbox_id: e.sandbox_id,
    services: e.services,
    // The last lines are the ones a model needs (why it waits or failed).
    events: e.events.slice(-10),
    created_at: e.created_at,
    stopped_at: e.stopped_at,
  };
}

const summary = (e: EnvironmentResponseDto): string =>
  `environment ${e.id} ${e.status}${e.sandbox_id ? `, sandbox ${e.sandbox_id}` : ''}; services ${e.services.map((s) => `${s.name}=${s.status}`).join(', ') || 'none'}`;

/** Environments: a sandbox plus companion services (database, cache, mock API) reachable by name from it. */
export function environmentTools(environments: EnvironmentsService): OrcaTool[] {
  const environmentId = z.string().describe('Environment id (from create_environment or list_environments)');
  return [
    defineTool({
      name: 'create_environment',
      title: 'Create an environment',
      description:
        'Start a sandbox plus companion services (a database, a cache, a mock API) on its private network, from a template ' +
        '(web-dev, python-ml, api-testing; list_environments shows the templates too) or a compose-subset file. Services start in ' +
        'dependency order and must pass their health checks; waits up to 50 s for it to be ready (still "starting" after that: ' +
        'poll get_environment). Then use the returned ' +
        'sandbox_id with exec/shell/write_file: the services answer by name (e.g. db:5432, http://mock:8080). delete_environment when done.',
      permission: 'environment:create',
      input: {
        template: z.string().optional().describe('A template name; give template or compose'),
        compose: z.string().max(65_536).optional().describe('Project file text: services (image, command, environment, healthcheck, depends_on, volumes, expose), volumes, sandbox {image, environment}'),
        name: z.string().optional(),
        ttl_seconds: z.number().int().min(1).max(86_400).optional(),
        idle_timeout_seconds: z.number().int().min(1).max(86_400).optional(),
      },
      output: { environment: environmentOutput },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      async run(args, call) {
        const created = await environments.create(call.ctx, await validateDto(CreateEnvironmentDto, args));
        const environment = await environments.waitSettled(call.ctx, created.id, CREATE_WAIT_MS);
        return { result: { environment: compact(environment) }, summary: summary(environment) };
      },
    }),
    defineTool({
      name: 'list_environments',
      title: 'List environments and templates',
      description: 'The workspace’s environments (newest first, with their services’ states and sandbox ids) and the templates create_environment accepts.',
      permission: 'environment:read',
      input: { status: z.enum(ENVIRONMENT_STATUSES).optional() },
      output: { environments: z.array(environmentOutput), templates: z.array(z.object({ name: z.string(), description: z.string().nullable(), services: z.array(z.string()) })) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const list = await environments.list(call.ctx, { status: args.status });
        const templates = environments.templates(call.ctx).map((t) => ({ name: t.name, description: t.description, services: t.services.map((s) => `${s.name} (${s.image})`) }));
        return { result: { environments: list.items.map(compact), templates }, summary: `${list.items.length} environment(s), ${templates.length} template(s)` };
      },
    }),
    defineTool({
      name: 'get_environment',
      title: 'Get an environment',
      description: 'An environment’s status, its services’ states, its sandbox id and the latest progress lines (why it waits or failed).',
      permission: 'environment:read',
      input: { environment_id: environmentId },
      output: { environment: environmentOutput },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const environment = await environments.get(call.ctx, resourceId('environment', args.environment_id));
        return { result: { environment: compact(environment) }, summary: summary(environment) };
      },
    }),
    defineTool({
      name: 'delete_environment',
      title: 'Delete an environment',
      description: 'Stop an environment: its sandbox, service containers, network and volumes are removed with everything in them. Returns it stopped.',
      permission: 'environment:delete',
      input: { environment_id: environmentId },
      output: { environment: environmentOutput },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const environment = await environments.delete(call.ctx, resourceId('environment', args.environment_id));
        return { result: { environment: compact(environment) }, summary: summary(environment) };
      },
    }),
  ];
}
