import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequirePermission, Tenant, UploadBody } from 'src/tenancy/route-metadata';
import { ApiContentResponse } from 'src/common/decorators/api-content';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import {
  DeleteFileQueryDto,
  ExecDto,
  CommandDto,
  InputDto,
  MakeDirectoryDto,
  MoveFileDto,
  PathQueryDto,
  ProcessInputDto,
  ProcessOutputQueryDto,
  ReadFileQueryDto,
  ShellRunDto,
  ShellWaitDto,
  WriteFileDto,
} from 'src/sandboxes/interaction/dto/interaction.dto';
import {
  ArchiveUploadResponseDto,
  ExecResultResponseDto,
  FileContentResponseDto,
  FileInfoResponseDto,
  FileListResponseDto,
  ProcessListResponseDto,
  ProcessOutputPageResponseDto,
  ProcessResponseDto,
  ShellCommandResponseDto,
  ShellListResponseDto,
} from 'src/sandboxes/interaction/dto/interaction-response.dto';
import {
  toArchiveUpload,
  toExecResult,
  toFileContent,
  toFileInfo,
  toFileList,
  toProcess,
  toProcessOutputPage,
  toShell,
  toShellCommand,
} from 'src/sandboxes/interaction/interaction.mappers';
import { INTERACTION_LIMITS } from 'src/sandboxes/interaction/interaction.limits';
import { SandboxExecService } from 'src/sandboxes/interaction/sandbox-exec.service';
import { SandboxFilesService } from 'src/sandboxes/interaction/sandbox-files.service';
import { SandboxProcessesService } from 'src/sandboxes/interaction/sandbox-processes.service';
import { SandboxShellsService } from 'src/sandboxes/interaction/sandbox-shells.service';
import { TenantContext } from 'src/tenancy/tenant-context';
import { clientGone, openEventStream, wantsEventStream } from 'src/common/http/event-stream';
import { CountsAsStream } from 'src/streams/stream-slots';

function bytesOf(dto: { data: string; encoding?: 'utf8' | 'base64' }): Buffer {
  return Buffer.from(dto.data, dto.encoding === 'base64' ? 'base64' : 'utf8');
}

function rawBody(body: unknown): Buffer {
  if (!Buffer.isBuffer(body)) throw new OrcaOpsError('unsupported_media_type', 'send the bytes with Content-Type application/octet-stream (or application/x-tar)');
  return body;
}

/**
 * Exec, persistent shells, background processes and files of a live sandbox. Thin: each handler
 * delegates to one service call; tenancy and state are checked there (SandboxesService.requireLive).
 */
@ApiTags('sandboxes')
@ApiBearerAuth()
@Controller('v1/sandboxes/:id')
export class SandboxInteractionController {
  constructor(
    private readonly exec: SandboxExecService,
    private readonly shells: SandboxShellsService,
    private readonly processes: SandboxProcessesService,
    private readonly files: SandboxFilesService,
  ) {}

  // ---- one-shot exec

  @Post('exec')
  @HttpCode(200)
  @RequirePermission('sandbox:exec')
  @CountsAsStream()
  @ApiContentResponse(200, 'The collected result, or (Accept: text/event-stream) the live output', ExecResultResponseDto, {
    'text/event-stream': { kind: 'text', description: 'Server-Sent Events: "output" ({stream, data}) events, then one "exit" ({exit_code, timed_out, duration_ms}) or "error" event' },
  })
  @ApiOperation({
    operationId: 'execInSandbox',
    summary: 'Run one command in a fresh process and return (or stream) its output',
    description:
      'Collected by default: exit_code, stdout, stderr (first 1 MiB each, with *_truncated flags), timed_out, duration_ms. ' +
      'With Accept: text/event-stream, streams "output" events ({stream, data}) and ends with an "exit" event. ' +
      'The timeout kills the whole process group; so does closing a streamed request.',
  })
  async execute(
    @Tenant() ctx: TenantContext,
    @Param('id', idOf('sandbox')) id: string,
    @Body() dto: ExecDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!wantsEventStream(request)) {
      const result: ExecResultResponseDto = toExecResult(await this.exec.collect(ctx, id, dto, clientGone(reply)));
      await reply.send(result);
      return;
    }
    // Errors before the first byte (404, 409, validation) still answer as JSON; the stream opens on first output.
    let sse: ReturnType<typeof openEventStream> | undefined;
    const open = (): ReturnType<typeof openEventStream> => (sse ??= openEventStream(request, reply));
    try {
      // The exec cannot wait for a slow reader: the stream drops the reader when it falls too far behind,
      // and the client going away kills the process group (clientGone).
      const outcome = await this.exec.stream(ctx, id, dto, (stream, chunk) => void open().send('output', { stream, data: chunk.toString('utf8') }), clientGone(reply));
      await open().send('exit', outcome);
    } catch (error) {
      if (!sse) throw error;
      // The stream is already open: the failure becomes its last event.
      await sse.send('error', { code: error instanceof OrcaOpsError ? error.code : 'internal_error', message: (error as Error).message });
    }
    open().end();
  }

  // ---- persistent shells

  @Post('shells/:name/run')
  @HttpCode(200)
  @RequirePermission('sandbox:exec')
  @CountsAsStream()
  @ApiOperation({
    operationId: 'runShellCommand',
    summary: 'Run a command in a named persistent shell (created on first use; cwd, env and variables persist)',
    description:
      'Returns {status:"completed", exit_code, output, cwd} when the command ends within timeout_seconds (default 30), ' +
      'else {status:"running", output so far, command_id}: the command keeps running; use waitShellCommand, ' +
      'sendShellInput or interruptShellCommand. One command at a time per shell (409 while busy). Shells live in ' +
      "this server's memory: a server restart loses them and they are re-created, empty, on next use.",
  })
  async run(
    @Tenant() ctx: TenantContext,
    @Param('id', idOf('sandbox')) id: string,
    @Param('name') name: string,
    @Body() dto: ShellRunDto,
  ): Promise<ShellCommandResponseDto> {
    return toShellCommand(await this.shells.run(ctx, id, name, dto.command, dto.timeout_seconds));
  }

  @Post('shells/:name/wait')
  @HttpCode(200)
  @RequirePermission('sandbox:exec')
  @CountsAsStream()
  @ApiOperation({ operationId: 'waitShellCommand', summary: "Wait for the shell's running command: new output since the last response, or its completion" })
  async wait(
    @Tenant() ctx: TenantContext,
    @Param('id', idOf('sandbox')) id: string,
    @Param('name') name: string,
    @Body() dto: ShellWaitDto,
  ): Promise<ShellCommandResponseDto> {
    return toShellCommand(await this.shells.wait(ctx, id, name, dto.timeout_seconds ?? INTERACTION_LIMITS.shellDefaultSoftTimeoutSeconds, dto.command_id));
  }

  @Post('shells/:name/input')
  @HttpCode(204)
  @RequirePermission('sandbox:exec')
  @ApiOperation({ operationId: 'sendShellInput', summary: "Write to the running command's stdin" })
  async input(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Param('name') name: string, @Body() dto: InputDto): Promise<void> {
    await this.shells.input(ctx, id, name, bytesOf(dto));
  }

  @Post('shells/:name/interrupt')
  @HttpCode(200)
  @RequirePermission('sandbox:exec')
  @ApiOperation({
    operationId: 'interruptShellCommand',
    summary: 'Ctrl-C: stop the running command (SIGINT, then SIGKILL, to its processes); the shell and its state survive',
    description: 'A command looping inside the shell itself cannot be signalled apart from it: the shell is then ended (shell_exited: true).',
  })
  async interrupt(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Param('name') name: string): Promise<ShellCommandResponseDto> {
    return toShellCommand(await this.shells.interrupt(ctx, id, name));
  }

  @Get('shells')
  @RequirePermission('sandbox:read')
  @ApiOperation({ operationId: 'listShells', summary: 'Persistent shells of this sandbox' })
  async listShells(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string): Promise<ShellListResponseDto> {
    return { items: (await this.shells.list(ctx, id)).map(toShell) };
  }

  @Delete('shells/:name')
  @HttpCode(204)
  @RequirePermission('sandbox:exec')
  @ApiOperation({ operationId: 'deleteShell', summary: 'End a shell and everything it started' })
  async deleteShell(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Param('name') name: string): Promise<void> {
    await this.shells.remove(ctx, id, name);
  }

  // ---- background processes

  @Post('processes')
  @RequirePermission('sandbox:exec')
  @ApiOperation({ operationId: 'startProcess', summary: 'Start a background process (stdin stays open; output kept in a 1 MiB ring buffer)' })
  async startProcess(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Body() dto: CommandDto): Promise<ProcessResponseDto> {
    return toProcess(await this.processes.start(ctx, id, dto));
  }

  @Get('processes')
  @RequirePermission('sandbox:read')
  @ApiOperation({ operationId: 'listProcesses', summary: 'Background processes of this sandbox (running and recently ended)' })
  async listProcesses(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string): Promise<ProcessListResponseDto> {
    return { items: (await this.processes.list(ctx, id)).map(toProcess) };
  }

  @Get('processes/:pid/output')
  @RequirePermission('sandbox:read')
  @CountsAsStream('event_stream')
  @ApiContentResponse(200, 'A page of output, or (Accept: text/event-stream, follow=true) the live output', ProcessOutputPageResponseDto, {
    'text/event-stream': { kind: 'text', description: 'Server-Sent Events: "output" ({seq, stream, data}) events, then one "exit" event with the process' },
  })
  @ApiOperation({
    operationId: 'readProcessOutput',
    summary: 'Output of a background process: chunks after a sequence number, the tail, or a live SSE stream',
    description: 'With Accept: text/event-stream or follow=true: "output" events ({seq, stream, data}), then an "exit" event with the process.',
  })
  async processOutput(
    @Tenant() ctx: TenantContext,
    @Param('id', idOf('sandbox')) id: string,
    @Param('pid', idOf('process')) pid: string,
    @Query() q: ProcessOutputQueryDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!wantsEventStream(request, q.follow)) {
      const page: ProcessOutputPageResponseDto = toProcessOutputPage(await this.processes.output(ctx, id, pid, q.after ?? 0, q.limit ?? 1000, q.tail));
      await reply.send(page);
      return;
    }
    const events = this.processes.follow(ctx, id, pid, q.after ?? 0, clientGone(reply));
    const first = await events.next(); // a missing process answers 404 before the stream opens
    const sse = openEventStream(request, reply);
    try {
      for (let item = first; !item.done; item = await events.next()) {
        await sse.send('seq' in item.value ? 'output' : 'exit', item.value);
        if (sse.closed) break;
      }
    } finally {
      sse.end();
    }
  }

  @Post('processes/:pid/input')
  @HttpCode(204)
  @RequirePermission('sandbox:exec')
  @ApiOperation({ operationId: 'sendProcessInput', summary: "Write to a background process's stdin (eof: true closes it)" })
  async processInput(
    @Tenant() ctx: TenantContext,
    @Param('id', idOf('sandbox')) id: string,
    @Param('pid', idOf('process')) pid: string,
    @Body() dto: ProcessInputDto,
  ): Promise<void> {
    await this.processes.input(ctx, id, pid, bytesOf(dto), dto.eof ?? false);
  }

  @Delete('processes/:pid')
  @RequirePermission('sandbox:exec')
  @ApiOperation({ operationId: 'killProcess', summary: "Kill a background process's whole process group" })
  async killProcess(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Param('pid', idOf('process')) pid: string): Promise<ProcessResponseDto> {
    return toProcess(await this.processes.kill(ctx, id, pid));
  }

  // ---- files (all through exec inside the container, as the sandbox user)

  @Post('files')
  @RequirePermission('sandbox:exec')
  @ApiOperation({ operationId: 'writeFile', summary: 'Write a file from JSON content (utf8 or base64, up to 16 MiB); parents are created' })
  async writeFile(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Body() dto: WriteFileDto): Promise<FileInfoResponseDto> {
    return toFileInfo(await this.files.write(ctx, id, dto.path, Buffer.from(dto.content, dto.encoding === 'base64' ? 'base64' : 'utf8')));
  }

  @Put('files/content')
  @RequirePermission('sandbox:exec')
  @UploadBody(INTERACTION_LIMITS.fileMaxBytes)
  @ApiConsumes('application/octet-stream')
  @ApiOperation({ operationId: 'uploadFile', summary: 'Write a file from the raw request body (application/octet-stream, up to 64 MiB)' })
  async uploadFile(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Query() q: PathQueryDto, @Body() body: unknown): Promise<FileInfoResponseDto> {
    return toFileInfo(await this.files.write(ctx, id, q.path, rawBody(body)));
  }

  @Get('files/content')
  @RequirePermission('sandbox:read')
  @ApiContentResponse(200, 'The content as JSON, or (Accept: application/octet-stream) the raw bytes', FileContentResponseDto, {
    'application/octet-stream': { kind: 'binary', description: 'The file, byte for byte' },
  })
  @ApiOperation({
    operationId: 'readFile',
    summary: 'Read a regular file: JSON {path, encoding, content, size} or, with Accept: application/octet-stream, the raw bytes',
    description: 'Symlinks, devices and FIFOs are refused (never followed).',
  })
  async readFile(
    @Tenant() ctx: TenantContext,
    @Param('id', idOf('sandbox')) id: string,
    @Query() q: ReadFileQueryDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<FileContentResponseDto | Buffer> {
    const raw = (request.headers.accept ?? '').includes('application/octet-stream');
    const data = await this.files.read(ctx, id, q.path, raw ? INTERACTION_LIMITS.fileMaxBytes : INTERACTION_LIMITS.jsonContentMaxBytes);
    if (raw) {
      void reply.header('content-type', 'application/octet-stream').header('x-content-type-options', 'nosniff');
      return data;
    }
    return toFileContent(q.path, q.encoding ?? 'utf8', data);
  }

  @Get('files')
  @RequirePermission('sandbox:read')
  @ApiOperation({ operationId: 'listFiles', summary: 'Entries of a directory (symlinks are listed as symlinks, not followed)' })
  async listFiles(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Query() q: PathQueryDto): Promise<FileListResponseDto> {
    return toFileList(await this.files.list(ctx, id, q.path));
  }

  @Get('files/stat')
  @RequirePermission('sandbox:read')
  @ApiOperation({ operationId: 'statFile', summary: 'Type, size, mode and modification time of a path (a symlink itself, not its target)' })
  async statFile(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Query() q: PathQueryDto): Promise<FileInfoResponseDto> {
    return toFileInfo(await this.files.stat(ctx, id, q.path));
  }

  @Post('files/mkdir')
  @RequirePermission('sandbox:exec')
  @ApiOperation({ operationId: 'makeDirectory', summary: 'Create a directory and its parents' })
  async makeDirectory(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Body() dto: MakeDirectoryDto): Promise<FileInfoResponseDto> {
    return toFileInfo(await this.files.mkdir(ctx, id, dto.path));
  }

  @Post('files/move')
  @HttpCode(200)
  @RequirePermission('sandbox:exec')
  @ApiOperation({ operationId: 'moveFile', summary: 'Move or rename a file or directory' })
  async moveFile(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Body() dto: MoveFileDto): Promise<FileInfoResponseDto> {
    return toFileInfo(await this.files.move(ctx, id, dto.from, dto.to));
  }

  @Delete('files')
  @HttpCode(204)
  @RequirePermission('sandbox:exec')
  @ApiOperation({ operationId: 'deleteFile', summary: 'Delete a file, an empty directory, or (recursive=true) a tree' })
  async deleteFile(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Query() q: DeleteFileQueryDto): Promise<void> {
    await this.files.remove(ctx, id, q.path, q.recursive ?? false);
  }

  @Put('archive')
  @RequirePermission('sandbox:exec')
  @UploadBody(INTERACTION_LIMITS.archiveMaxBytes)
  @ApiConsumes('application/x-tar', 'application/octet-stream')
  @ApiOperation({
    operationId: 'uploadArchive',
    summary: 'Extract an uncompressed tar into a directory',
    description: 'Validated first: only regular files and directories with relative names inside the target (else 400, listing the entries).',
  })
  async uploadArchive(
    @Tenant() ctx: TenantContext,
    @Param('id', idOf('sandbox')) id: string,
    @Query() q: PathQueryDto,
    @Body() body: unknown,
  ): Promise<ArchiveUploadResponseDto> {
    return toArchiveUpload(await this.files.uploadArchive(ctx, id, q.path, rawBody(body)));
  }

  @Get('archive')
  @RequirePermission('sandbox:read')
  @ApiContentResponse(200, 'The tree as an uncompressed tar', undefined, {
    'application/x-tar': { kind: 'binary', description: 'Regular files and directories only' },
  })
  @ApiOperation({
    operationId: 'downloadArchive',
    summary: 'An uncompressed tar of a file or directory tree',
    description: 'Re-validated before sending: symlinks, devices and FIFOs are left out (count in X-OrcaOps-Skipped).',
  })
  async downloadArchive(
    @Tenant() ctx: TenantContext,
    @Param('id', idOf('sandbox')) id: string,
    @Query() q: PathQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer> {
    const { tar, skippedCount } = await this.files.downloadArchive(ctx, id, q.path);
    void reply.header('content-type', 'application/x-tar').header('x-orcaops-skipped', String(skippedCount));
    return tar;
  }
}
