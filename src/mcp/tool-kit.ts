import { Logger } from '@nestjs/common';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import { toToolError } from 'src/mcp/tool-errors';
import { assertPermission } from 'src/tenancy/assert-permission';
import type { Permission } from 'src/tenancy/permissions';
import type { TenantContext } from 'src/tenancy/tenant-context';

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Who is calling for this one request (HTTP: the guard's context of the POST carrying the call). */
export type ContextResolver = (extra: ToolExtra) => TenantContext;

export interface ToolCall {
  ctx: TenantContext;
  extra: ToolExtra;
  /** notifications/progress for this call; a no-op unless the client sent a progressToken. */
  progress(progress: number, message?: string, total?: number): Promise<void>;
}

export interface ToolOutcome {
  /** Matches the tool's output schema (checked by the SDK before it is sent). */
  result: object;
  /** A line for the model ahead of the JSON (e.g. "job … succeeded, exit 0"). */
  summary?: string;
}

export interface OrcaTool<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  /** Written for a model: what it does, when to use it, what comes back, what to call next. */
  description: string;
  /** Checked from the caller's context before the service runs (the service checks it again). */
  permission: Permission;
  input: I;
  output: O;
  annotations: Required<Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint'>>;
  run(args: z.objectOutputType<I, z.ZodTypeAny>, call: ToolCall): Promise<ToolOutcome>;
}

/** Tools are declared with full types and stored type-erased in one list. */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(tool: OrcaTool<I, O>): OrcaTool {
  return tool;
}

/** Ids arrive as free text from a model: a malformed one names no resource (not_found, like REST). */
export function resourceId(resource: string, value: string): string {
  return idOf(resource).transform(value);
}

const abandonLogger = new Logger('McpTools');

/**
 * The client cancelled this call (its notifications/cancelled aborts `extra.signal`; an SDK client sends
 * one when its AbortSignal fires or its request timeout passes): work the call started and was waiting on
 * is cancelled too, since nobody is left for its result. Best effort: a cancel refused because the work
 * ended meanwhile, or because the token may not cancel, is logged, not raised (the SDK sends no result
 * for a cancelled call anyway).
 */
export async function cancelAbandoned(call: ToolCall, what: string, cancel: () => Promise<unknown>): Promise<void> {
  if (!call.extra.signal.aborted) return;
  try {
    await cancel();
    abandonLogger.log({ msg: 'client cancelled the tool call; cancelled the work it started', what, requestId: call.ctx.requestId });
  } catch (error) {
    abandonLogger.warn({ msg: 'client cancelled the tool call; could not cancel the work it started', what, err: String(error) });
  }
}

function progressSender(extra: ToolExtra): ToolCall['progress'] {
  const token = extra._meta?.progressToken;
  return async (progress, message, total) => {
    if (token === undefined) return;
    await extra
      .sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, total, message } })
      .catch(() => undefined); // a client gone mid-call must not fail the tool
  };
}

/** Called when a token lacks a tool's permission (audited like the guard's auth.forbidden). */
export type DeniedListener = (ctx: TenantContext, tool: OrcaTool) => Promise<void>;

/** Registers one tool: permission check, one service call, structured result, or a tool error. */
export function registerOrcaTool(server: McpServer, tool: OrcaTool, resolve: ContextResolver, logger: Logger, onDenied?: DeniedListener): void {
  const handler = async (args: Record<string, unknown>, extra: ToolExtra): Promise<CallToolResult> => {
    try {
      const ctx = resolve(extra);
      if (!ctx.permissions.has(tool.permission)) await onDenied?.(ctx, tool);
      assertPermission(ctx, tool.permission);
      const { result, summary } = await tool.run(args, { ctx, extra, progress: progressSender(extra) });
      const json = JSON.stringify(result);
      return {
        structuredContent: result as Record<string, unknown>,
        content: [{ type: 'text', text: summary ? `${summary}\n${json}` : json }],
      };
    } catch (error) {
      return toToolError(error, logger);
    }
  };
  // The SDK's generic signature is too deep to instantiate for a type-erased list; the shapes are zod either way.
  const register = server.registerTool.bind(server) as unknown as LooseRegisterTool;
  register(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.input,
      outputSchema: tool.output,
      annotations: { title: tool.title, ...tool.annotations },
    },
    handler,
  );
}

type LooseRegisterTool = (
  name: string,
  config: { title: string; description: string; inputSchema: z.ZodRawShape; outputSchema: z.ZodRawShape; annotations: ToolAnnotations },
  handler: (args: Record<string, unknown>, extra: ToolExtra) => Promise<CallToolResult>,
) => unknown;
