import type { INestApplication } from '@nestjs/common';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { IS_PUBLIC_KEY, SCRAPE_TOKEN_KEY, UPLOAD_BODY_KEY } from 'src/tenancy/route-metadata';

/** What the edge needs to know about a Nest route before its body is read. */
export interface EdgeRoute {
  /**
   * @Public(): no API token needed (the guard lets it through too). The scrape route counts as public
   * here: its token is the metrics token, which the guard checks, not an API token.
   */
  isPublic: boolean;
  /** An @UploadBody() route: its raw body cap in bytes. */
  uploadMaxBytes?: number;
}

const joinPath = (...parts: string[]): string =>
  `/${parts
    .flatMap((p) => p.split('/'))
    .filter(Boolean)
    .join('/')}`;
const asArray = (value: string | string[] | undefined): string[] => (Array.isArray(value) ? value : [value ?? '/']);

/**
 * The Nest controller routes keyed by `METHOD /fastify/:url`, read from the same decorator metadata
 * the global guard reads (so the edge and the guard cannot disagree on what is public). Routes that
 * are not Nest's (OpenAPI document, CORS preflight, 404) are not in it.
 */
export class EdgeRoutes {
  private constructor(private readonly routes: ReadonlyMap<string, EdgeRoute>) {}

  static discover(app: INestApplication): EdgeRoutes {
    const discovery = new DiscoveryService(app.get(ModulesContainer));
    const scanner = new MetadataScanner();
    const reflector = app.get(Reflector);
    const routes = new Map<string, EdgeRoute>();
    for (const { metatype, instance } of discovery.getControllers()) {
      if (!metatype || !instance) continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, (...args: unknown[]) => unknown>;
      const bases = asArray(Reflect.getMetadata(PATH_METADATA, metatype) as string | string[] | undefined);
      for (const name of scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name]!;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (method === undefined) continue;
        const route: EdgeRoute = {
          isPublic: reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [handler, metatype]) === true || reflector.get<boolean>(SCRAPE_TOKEN_KEY, handler) === true,
          uploadMaxBytes: reflector.get<number | undefined>(UPLOAD_BODY_KEY, handler),
        };
        const verbs = method === RequestMethod.ALL ? ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] : [RequestMethod[method]];
        for (const base of bases) {
          for (const path of asArray(Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined)) {
            for (const verb of verbs) routes.set(`${verb} ${joinPath(base, path)}`, route);
          }
        }
      }
    }
    return new EdgeRoutes(routes);
  }

  /** The route Fastify matched (HEAD is answered by the GET route), or undefined outside Nest. */
  lookup(method: string, url: string | undefined): EdgeRoute | undefined {
    if (url === undefined) return undefined;
    return this.routes.get(`${method === 'HEAD' ? 'GET' : method} ${url}`);
  }

  get size(): number {
    return this.routes.size;
  }
}
