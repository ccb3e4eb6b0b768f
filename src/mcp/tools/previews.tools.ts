import { z } from 'zod';
import { validateDto } from 'src/common/validation';
import type { OrcaTool } from 'src/mcp/tool-kit';
import { defineTool, resourceId } from 'src/mcp/tool-kit';
import { sandboxId } from 'src/mcp/tools/schemas';
import { CreatePreviewDto } from 'src/sandboxes/previews/dto/preview.dto';
import { PREVIEW_LIMITS } from 'src/sandboxes/previews/preview.limits';
import type { PreviewsService } from 'src/sandboxes/previews/previews.service';

/** A sandbox port as a URL for a browser or an HTTP client (docs/sandboxes.md#preview-urls). */
export function previewTools(previews: PreviewsService): OrcaTool[] {
  return [
    defineTool({
      name: 'open_preview',
      title: 'Open a preview URL of a sandbox port',
      description:
        'A signed URL that serves a port a process listens on inside the sandbox (a dev server, an API) to any browser ' +
        'or HTTP client, HTTP and WebSocket, without a token, until it expires (ttl_seconds, default 3600) or is revoked ' +
        '(DELETE /v1/sandboxes/{id}/previews/{preview_id}). Start the server first (start_process); anyone holding the URL reaches the port.',
      permission: 'sandbox:exec',
      input: {
        sandbox_id: sandboxId,
        port: z.number().int().min(1).max(65_535).describe('TCP port the server listens on inside the sandbox'),
        ttl_seconds: z.number().int().min(1).max(PREVIEW_LIMITS.maxTtlSeconds).optional(),
      },
      output: { preview_id: z.string(), url: z.string(), port: z.number(), expires_at: z.string() },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      async run(args, call) {
        const dto = await validateDto(CreatePreviewDto, { port: args.port, ttl_seconds: args.ttl_seconds });
        const preview = await previews.issue(call.ctx, resourceId('sandbox', args.sandbox_id), dto.port, dto.ttl_seconds);
        return {
          result: { preview_id: preview.id, url: preview.url!, port: preview.port, expires_at: preview.expires_at },
          summary: `${preview.url} (port ${preview.port}, until ${preview.expires_at})`,
        };
      },
    }),
  ];
}
