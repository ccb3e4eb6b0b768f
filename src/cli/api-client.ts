import { CliError } from 'src/cli/cli-error';
import type { ClientConfig} from 'src/cli/client-config';
import { loadClientConfig } from 'src/cli/client-config';
import type { ErrorCode } from 'src/common/errors/orcaops.error';

interface ErrorBody {
  error?: { code?: ErrorCode; message?: string; details?: unknown };
}

/** The CLI's REST client: user commands are clients of the API, like any other. */
export class ApiClient {
  constructor(private readonly config: ClientConfig = loadClientConfig()) {}

  get baseUrl(): string {
    return this.config.url;
  }

  async request<T>(method: string, path: string, body?: unknown, init: { headers?: Record<string, string> } = {}): Promise<T> {
    const response = await this.raw(method, path, body, init);
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) throw this.toError(response.status, parsed as ErrorBody);
    return parsed as T;
  }

  /** The fetch Response itself, for streams and downloads. Errors are raised as CliError. */
  async raw(method: string, path: string, body?: unknown, init: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
    if (!this.config.token) {
      throw new CliError('unauthenticated', 'No token: set ORCAOPS_TOKEN or run `orcaops login --token <token>`');
    }
    const headers: Record<string, string> = { authorization: `Bearer ${this.config.token}`, ...init.headers };
    if (this.config.session) headers['x-orcaops-session'] = this.config.session;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.config.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: init.signal,
      });
    } catch (error) {
      throw new CliError('connection_failed', `Cannot reach OrcaOps at ${this.config.url} (${(error as Error).message}); is \`orcaops serve\` running?`);
    }
    if (!response.ok && init.headers?.accept === 'text/event-stream') {
      const parsed = (await response.json().catch(() => ({}))) as ErrorBody;
      throw this.toError(response.status, parsed);
    }
    return response;
  }

  /**
   * Sends a raw (non-JSON) body, e.g. a file streamed from disk, and returns the Response; an error
   * status is raised as CliError. A stream body is sent as it is read (fetch's half-duplex upload).
   */
  async send(method: string, path: string, body: ReadableStream<Uint8Array>, contentType: string, init: { headers?: Record<string, string> } = {}): Promise<Response> {
    if (!this.config.token) {
      throw new CliError('unauthenticated', 'No token: set ORCAOPS_TOKEN or run `orcaops login --token <token>`');
    }
    let response: Response;
    try {
      response = await fetch(`${this.config.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.config.token}`, 'content-type': contentType, ...init.headers },
        body,
        duplex: 'half',
      });
    } catch (error) {
      throw new CliError('connection_failed', `Cannot reach OrcaOps at ${this.config.url} (${(error as Error).message}); is \`orcaops serve\` running?`);
    }
    if (!response.ok) {
      const parsed = (await response.json().catch(() => undefined)) as ErrorBody | undefined;
      throw this.toError(response.status, parsed);
    }
    return response;
  }

  private toError(status: number, body: ErrorBody | undefined): CliError {
    const code = body?.error?.code ?? (status === 404 ? 'not_found' : 'internal_error');
    return new CliError(code, body?.error?.message ?? `HTTP ${status}`, body?.error?.details);
  }
}
