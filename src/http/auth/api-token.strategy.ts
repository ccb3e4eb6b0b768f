import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-custom';
import type { FastifyRequest } from 'fastify';
import { TokenAuthService } from 'src/tenancy/token-auth.service';
import { Principal } from 'src/tenancy/tenant-context';

export const API_TOKEN_STRATEGY = 'api-token';

/** Reads the bearer token from the Authorization header only (never query strings or bodies). */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}

@Injectable()
export class ApiTokenStrategy extends PassportStrategy(Strategy, API_TOKEN_STRATEGY) {
  constructor(private readonly tokens: TokenAuthService) {
    super();
  }

  validate(request: FastifyRequest): Promise<Principal> {
    return this.tokens.authenticate(bearerToken(request.headers.authorization));
  }
}
