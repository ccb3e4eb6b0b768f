import { z } from 'zod';
import type { OrcaTool } from 'src/mcp/tool-kit';
import { defineTool, resourceId } from 'src/mcp/tool-kit';
import type { ImageCacheService } from 'src/registries/image-cache.service';
import type { RegistryCredentialsService } from 'src/registries/registry-credentials.service';

const credentialOutput = z.object({ id: z.string(), host: z.string(), username: z.string(), created_by: z.string(), created_at: z.string(), updated_at: z.string() });

const cachedImageOutput = z.object({ id: z.string(), kind: z.enum(['pulled', 'built']), references: z.array(z.string()), size_bytes: z.number(), last_used_at: z.string() });

/**
 * Registry credentials for workspace admins' agents (the password goes in, never comes back out), and the
 * workspace's own images in the engine's cache with its image quota.
 */
export function registryTools(credentials: RegistryCredentialsService, imageCache: ImageCacheService): OrcaTool[] {
  return [
    defineTool({
      name: 'get_image_cache',
      title: "This workspace's cached images",
      description:
        "The images this workspace pulled (or built) that are on the engine now, with size and last use, the bytes they take " +
        'and its image quota (policy images.max_cache_mb; a pull that would exceed it fails image_pull_failed/too_large).',
      permission: 'workspace:read',
      input: {},
      output: { items: z.array(cachedImageOutput), used_bytes: z.number(), quota_bytes: z.number().nullable() },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(_args, call) {
        const view = await imageCache.workspaceView(call.ctx);
        return { result: { ...view }, summary: `${view.items.length} image(s), ${view.used_bytes} bytes${view.quota_bytes === null ? '' : ` of ${view.quota_bytes}`}` };
      },
    }),
    defineTool({
      name: 'set_registry_credential',
      title: 'Store registry credentials',
      description:
        "Store (or replace) this workspace's credentials for one registry host (e.g. ghcr.io, registry.example.com:5000). " +
        "They are used only for this workspace's pulls from that host. The password is write-only: no tool or API returns it.",
      permission: 'workspace:admin',
      input: {
        host: z.string().describe('Registry host[:port], without scheme or path'),
        username: z.string(),
        password: z.string().describe('Password or access token (write-only)'),
      },
      output: { credential: credentialOutput },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const credential = await credentials.put(call.ctx, { host: args.host, username: args.username, password: args.password });
        return { result: { credential }, summary: `credentials stored for ${credential.host}` };
      },
    }),
    defineTool({
      name: 'list_registry_credentials',
      title: 'List registry credentials',
      description: "This workspace's registry credentials: host and user name only.",
      permission: 'workspace:admin',
      input: {},
      output: { items: z.array(credentialOutput) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(_args, call) {
        const items = await credentials.list(call.ctx);
        return { result: { items }, summary: `${items.length} registry credential(s)` };
      },
    }),
    defineTool({
      name: 'delete_registry_credential',
      title: 'Delete registry credentials',
      description: 'Delete registry credentials by id (from list_registry_credentials).',
      permission: 'workspace:admin',
      input: { credential_id: z.string() },
      output: { deleted: z.boolean() },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        await credentials.remove(call.ctx, resourceId('registry credential', args.credential_id));
        return { result: { deleted: true }, summary: 'deleted' };
      },
    }),
  ];
}
