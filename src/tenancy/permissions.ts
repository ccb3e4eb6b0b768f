/** Every permission a route, MCP tool or CLI command can require. */
export const PERMISSIONS = [
  'org:admin',
  'workspace:read',
  'workspace:admin',
  'token:admin',
  'audit:read',
  'job:create',
  'job:read',
  'job:cancel',
  'job:delete',
  'sandbox:create',
  'sandbox:read',
  'sandbox:exec',
  'sandbox:delete',
  'workflow:create',
  'workflow:read',
  'workflow:cancel',
  'workflow:delete',
  'environment:create',
  'environment:read',
  'environment:delete',
  'policy:admin',
  'approval:decide',
  'session:create',
  'session:read',
  'secret:read',
  'secret:admin',
  'image:build',
  'image:read',
  'image:delete',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['admin', 'developer', 'viewer', 'ci'] as const;
export type Role = (typeof ROLES)[number];

const READ: Permission[] = ['workspace:read', 'job:read', 'sandbox:read', 'workflow:read', 'session:read', 'environment:read', 'image:read'];
const RUN: Permission[] = [
  ...READ,
  'job:create',
  'job:cancel',
  'job:delete',
  'sandbox:create',
  'sandbox:exec',
  'sandbox:delete',
  'workflow:create',
  'workflow:cancel',
  'workflow:delete',
  'environment:create',
  'environment:delete',
  'session:create',
  'secret:read',
  'image:build',
  'image:delete',
];

/** Role → permissions of a workspace token. `org:admin` belongs only to organisation admin tokens. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  admin: new Set<Permission>([...RUN, 'workspace:admin', 'token:admin', 'audit:read', 'policy:admin', 'approval:decide', 'secret:admin']),
  developer: new Set<Permission>(RUN),
  viewer: new Set<Permission>(READ),
  ci: new Set<Permission>([...READ, 'job:create', 'job:cancel', 'workflow:create', 'workflow:cancel', 'session:create', 'image:build']),
};

export const ALL_PERMISSIONS: ReadonlySet<Permission> = new Set(PERMISSIONS);
