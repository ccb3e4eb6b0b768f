import { Logger } from '@nestjs/common';
import type { Repository } from 'typeorm';
import { TokenAuthService } from 'src/tenancy/token-auth.service';
import { issueToken } from 'src/tenancy/token-secret';
import type { AdminTokenEntity } from 'src/tenancy/entities/admin-token.entity';
import type { ApiTokenEntity } from 'src/tenancy/entities/api-token.entity';
import type { WorkspaceStatus } from 'src/tenancy/entities/workspace.entity';

const ENV_ADMIN_TOKEN = 'env-admin-token-0123456789abcdefghijklmnop';
const NOW = new Date('2026-01-15T12:00:00.000Z');

type RepositoryMock<T extends object> = jest.Mocked<Pick<Repository<T>, 'findOne' | 'update'>>;

function repositoryMock<T extends object>(): RepositoryMock<T> {
  return { findOne: jest.fn().mockResolvedValue(null), update: jest.fn().mockResolvedValue({ affected: 1 }) };
}

function workspaceTokenRow(
  issued: ReturnType<typeof issueToken>,
  overrides: Partial<ApiTokenEntity> = {},
  status: WorkspaceStatus = 'active',
): ApiTokenEntity {
  return {
    id: 'token-1',
    workspaceId: 'ws-1',
    name: 'ci',
    role: 'developer',
    keyId: issued.keyId,
    secretHash: issued.hash,
    displayPrefix: issued.displayPrefix,
    createdBy: null,
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    createdAt: NOW,
    updatedAt: NOW,
    workspace: {
      id: 'ws-1',
      name: 'ws',
      status,
      settings: {},
      createdAt: NOW,
      updatedAt: NOW,
      archivedAt: null,
    },
    ...overrides,
  };
}

describe('TokenAuthService', () => {
  let apiTokens: RepositoryMock<ApiTokenEntity>;
  let adminTokens: RepositoryMock<AdminTokenEntity>;
  let service: TokenAuthService;

  const givenWorkspaceToken = (
    overrides: Partial<ApiTokenEntity> = {},
    status: WorkspaceStatus = 'active',
  ) => {
    const issued = issueToken('ws');
    apiTokens.findOne.mockResolvedValue(workspaceTokenRow(issued, overrides, status));
    return issued;
  };

  beforeEach(() => {
    jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'setImmediate'] });
    apiTokens = repositoryMock<ApiTokenEntity>();
    adminTokens = repositoryMock<AdminTokenEntity>();
    service = new TokenAuthService(apiTokens as never, adminTokens as never, { adminToken: ENV_ADMIN_TOKEN });
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  describe('rejections', () => {
    it('should reject a missing token', async () => {
      await expect(service.authenticate(undefined)).rejects.toMatchObject({ code: 'unauthenticated' });
    });

    it('should reject a malformed token without a database lookup', async () => {
      await expect(service.authenticate('orcaops_ws_nope')).rejects.toMatchObject({
        code: 'unauthenticated',
      });
      expect(apiTokens.findOne).not.toHaveBeenCalled();
    });

    it('should reject an unknown key id', async () => {
      await expect(service.authenticate(issueToken('ws').token)).rejects.toMatchObject({
        code: 'unauthenticated',
      });
      expect(apiTokens.findOne).toHaveBeenCalledWith(
        expect.objectContaining({ where: { keyId: expect.any(String) } }),
      );
    });

    it('should reject a known key id with the wrong secret', async () => {
      const issued = givenWorkspaceToken();
      const forged = `${issued.displayPrefix}_${'A'.repeat(32)}`;
      await expect(service.authenticate(forged)).rejects.toMatchObject({ code: 'unauthenticated' });
    });

    it('should reject a revoked token', async () => {
      const issued = givenWorkspaceToken({ revokedAt: new Date(NOW.getTime() - 1000) });
      await expect(service.authenticate(issued.token)).rejects.toMatchObject({ code: 'unauthenticated' });
    });

    it('should reject a token at and after its expiry, and accept it before', async () => {
      const issued = givenWorkspaceToken({ expiresAt: new Date(NOW.getTime() + 1000) });
      await expect(service.authenticate(issued.token)).resolves.toMatchObject({ tokenId: 'token-1' });
      jest.setSystemTime(NOW.getTime() + 1000);
      await expect(service.authenticate(issued.token)).rejects.toMatchObject({ code: 'unauthenticated' });
    });

    it('should answer revoked, expired, unknown and wrong-secret tokens with the same message', async () => {
      const messages = new Set<string>();
      const collect = (p: Promise<unknown>) => p.catch((e: Error) => messages.add(e.message));
      await collect(service.authenticate(givenWorkspaceToken({ revokedAt: NOW }).token));
      service.invalidate();
      await collect(service.authenticate(givenWorkspaceToken({ expiresAt: NOW }).token));
      service.invalidate();
      await collect(service.authenticate(`${givenWorkspaceToken().displayPrefix}_${'A'.repeat(32)}`));
      apiTokens.findOne.mockResolvedValue(null);
      await collect(service.authenticate(issueToken('ws').token));
      expect([...messages]).toEqual(['Invalid, expired or revoked token']);
    });

    it.each([
      ['suspended', 'workspace_suspended'],
      ['archived', 'workspace_archived'],
    ] as const)('should refuse a token whose workspace is %s with %s', async (status, code) => {
      const issued = givenWorkspaceToken({}, status);
      await expect(service.authenticate(issued.token)).rejects.toMatchObject({ code });
    });

    it('should not report the workspace status for a wrong secret (no status oracle)', async () => {
      const issued = givenWorkspaceToken({}, 'suspended');
      await expect(service.authenticate(`${issued.displayPrefix}_${'A'.repeat(32)}`)).rejects.toMatchObject({
        code: 'unauthenticated',
      });
    });
  });

  describe('principals', () => {
    it('should accept the environment admin token as an organisation principal, without a lookup', async () => {
      await expect(service.authenticate(ENV_ADMIN_TOKEN)).resolves.toEqual({
        kind: 'organisation',
        tokenId: '00000000-0000-0000-0000-000000000000',
        tokenName: 'ORCAOPS_ADMIN_TOKEN',
      });
      expect(apiTokens.findOne).not.toHaveBeenCalled();
    });

    it('should not accept any environment admin token when none is configured', async () => {
      const withoutAdmin = new TokenAuthService(apiTokens as never, adminTokens as never, {
        adminToken: undefined,
      });
      await expect(withoutAdmin.authenticate(ENV_ADMIN_TOKEN)).rejects.toMatchObject({
        code: 'unauthenticated',
      });
    });

    it('should resolve a workspace token to its workspace, role and id', async () => {
      const issued = givenWorkspaceToken({ role: 'viewer' });
      await expect(service.authenticate(issued.token)).resolves.toEqual({
        kind: 'workspace',
        tokenId: 'token-1',
        tokenName: 'ci',
        workspaceId: 'ws-1',
        role: 'viewer',
      });
    });

    it('should resolve an organisation token from admin_tokens only', async () => {
      const issued = issueToken('org');
      adminTokens.findOne.mockResolvedValue({
        id: 'admin-1',
        name: 'ops',
        keyId: issued.keyId,
        secretHash: issued.hash,
        displayPrefix: issued.displayPrefix,
        createdAt: NOW,
        expiresAt: null,
        revokedAt: null,
        lastUsedAt: null,
      });
      await expect(service.authenticate(issued.token)).resolves.toEqual({
        kind: 'organisation',
        tokenId: 'admin-1',
        tokenName: 'ops',
      });
      expect(apiTokens.findOne).not.toHaveBeenCalled();
    });
  });

  describe('cache', () => {
    it('should look a token up once within the cache TTL, and again after it', async () => {
      const issued = givenWorkspaceToken();
      await service.authenticate(issued.token);
      await service.authenticate(issued.token);
      expect(apiTokens.findOne).toHaveBeenCalledTimes(1);
      jest.setSystemTime(NOW.getTime() + 5_000);
      await service.authenticate(issued.token);
      expect(apiTokens.findOne).toHaveBeenCalledTimes(2);
    });

    it('should see a revocation at once after invalidate(keyId)', async () => {
      const issued = givenWorkspaceToken();
      await service.authenticate(issued.token);
      apiTokens.findOne.mockResolvedValue(workspaceTokenRow(issued, { revokedAt: NOW }));
      service.invalidate(issued.keyId);
      await expect(service.authenticate(issued.token)).rejects.toMatchObject({ code: 'unauthenticated' });
    });

    it('should see a workspace status change at once after invalidate()', async () => {
      const issued = givenWorkspaceToken();
      await service.authenticate(issued.token);
      apiTokens.findOne.mockResolvedValue(workspaceTokenRow(issued, {}, 'suspended'));
      service.invalidate();
      await expect(service.authenticate(issued.token)).rejects.toMatchObject({ code: 'workspace_suspended' });
    });
  });

  describe('last_used_at', () => {
    it('should record use at most once a minute, only for unrevoked tokens', async () => {
      const issued = givenWorkspaceToken();
      await service.authenticate(issued.token);
      await service.authenticate(issued.token);
      expect(apiTokens.update).toHaveBeenCalledTimes(1);
      expect(apiTokens.update).toHaveBeenCalledWith(
        expect.objectContaining({ id: 'token-1', revokedAt: expect.anything() }),
        { lastUsedAt: NOW },
      );
      jest.setSystemTime(NOW.getTime() + 60_000);
      await service.authenticate(issued.token);
      expect(apiTokens.update).toHaveBeenCalledTimes(2);
    });

    it('should not fail the request when the update fails, and log it', async () => {
      const issued = givenWorkspaceToken();
      apiTokens.update.mockRejectedValue(new Error('database gone'));
      const warned = new Promise((resolve) =>
        jest.spyOn(Logger.prototype, 'warn').mockImplementation(resolve),
      );
      await expect(service.authenticate(issued.token)).resolves.toMatchObject({ tokenId: 'token-1' });
      await expect(warned).resolves.toMatchObject({
        msg: 'last_used_at update failed',
        err: 'Error: database gone',
      });
    });
  });
});
