import { z } from 'zod';
import type { OrcaTool } from 'src/mcp/tool-kit';
import { defineTool } from 'src/mcp/tool-kit';
import type { SecretsService } from 'src/secrets/secrets.service';

/**
 * Secrets for agents: names only. There is no tool that sets or reads a value: a value given to a tool
 * would sit in the agent's transcript, and one returned would leak into it. People set them with the
 * CLI or REST; agents ask for them by name (`secrets` of run_job / submit_job / create_sandbox).
 */
export function secretTools(secrets: SecretsService): OrcaTool[] {
  return [
    defineTool({
      name: 'list_secrets',
      title: 'List secret names',
      description:
        'The secrets this workspace can use (its own and inherited organisation ones): names and metadata, never values. ' +
        'Pass them to run_job / submit_job / create_sandbox as secrets: {ENV_NAME: SECRET_NAME}; their values are masked (***) in every result.',
      permission: 'secret:read',
      input: {},
      output: {
        items: z.array(z.object({ name: z.string(), scope: z.string(), updated_at: z.string() })),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(_args, call) {
        const items = (await secrets.list(call.ctx)).map(({ name, scope, updated_at }) => ({ name, scope, updated_at }));
        return { result: { items }, summary: `${items.length} secret(s): ${items.map((i) => i.name).join(', ')}` };
      },
    }),
  ];
}
