import { readdir, readlink, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { STANDARD_PATH } from 'src/images/debian-rootfs';
import type { DebianImageDefinition } from 'src/images/recipes/debian-image.recipe';

export const PG_MAJOR = '15';
const PG_BIN = `/usr/lib/postgresql/${PG_MAJOR}/bin`;
/** The conventional mount point of a data volume (as in the official image); used when it is writable. */
export const PG_VOLUME = '/var/lib/postgresql/data';

/**
 * The container's start: a subset of the official image's entrypoint (POSTGRES_USER, POSTGRES_PASSWORD,
 * POSTGRES_DB, PGDATA; `-c` options) for a non-root user on a read-only root. The data directory goes on
 * the first writable place: PGDATA when set, a volume at /var/lib/postgresql/data, /workspace (jobs and
 * sandboxes), else /tmp (always a sized tmpfs). initdb and CREATE DATABASE run in single-user mode, so no
 * temporary server is started. Any other command runs as given (psql, pg_isready, sh).
 */
export const POSTGRES_ENTRYPOINT = `#!/bin/sh
set -eu
if [ "\${1#-}" != "$1" ]; then set -- postgres "$@"; fi
if [ "$1" != postgres ]; then exec "$@"; fi
shift
if [ -z "\${PGDATA:-}" ]; then
  for dir in ${PG_VOLUME} /workspace /tmp; do
    if [ -w "$dir" ]; then PGDATA="$dir/pgdata"; break; fi
  done
fi
export PGDATA
user="\${POSTGRES_USER:-postgres}"
db="\${POSTGRES_DB:-$user}"
if [ "$(id -u)" = 0 ]; then
  # root (a service's \`user: root\`): prepare the data directory, then run as nobody.
  mkdir -p "$PGDATA" && chown 65534:65534 "$PGDATA" && chmod 0700 "$PGDATA"
  exec setpriv --reuid=65534 --regid=65534 --clear-groups "$0" postgres "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\\n' "\${POSTGRES_PASSWORD:-postgres}" | initdb -D "$PGDATA" -U "$user" --pwfile=/dev/stdin \\
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --wal-segsize=1 >/dev/null
  cat >> "$PGDATA/postgresql.conf" <<'CONF'
listen_addresses = '*'
unix_socket_directories = '/tmp'
shared_buffers = 32MB
max_wal_size = 64MB
min_wal_size = 4MB
jit = off
CONF
  echo 'host all all all scram-sha-256' >> "$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    printf 'CREATE DATABASE "%s";\\n' "$(printf '%s' "$db" | sed 's/"/""/g')" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "orcaops/postgres: initialised $PGDATA (user $user, database $db)"
fi
exec postgres "$@"
`;

/** /usr/bin/psql and friends are Debian's perl wrapper (pg_wrapper); point them at the binaries (no perl needed). */
async function linkClientBinaries(rootfs: string): Promise<void> {
  const usrBin = join(rootfs, 'usr/bin');
  for (const name of await readdir(usrBin)) {
    const path = join(usrBin, name);
    const target = await readlink(path).catch(() => '');
    if (!target.endsWith('/pg_wrapper')) continue;
    await unlink(path);
    const binaries = await readdir(join(rootfs, PG_BIN.slice(1)));
    if (binaries.includes(name)) await symlink(`${PG_BIN}/${name}`, path);
  }
}

/**
 * orcaops/postgres: Debian's PostgreSQL server, run as nobody. The JIT's LLVM (about 130 MB) and perl
 * (postgresql-common's cluster tools, not used in a container) are left out; jit is off.
 */
export const POSTGRES_IMAGE: DebianImageDefinition = {
  packages: [`postgresql-${PG_MAJOR}`],
  versionPackage: `postgresql-${PG_MAJOR}`,
  // No cluster at install time: each container makes its own at start.
  beforeInstall: [{ path: 'etc/postgresql-common/createcluster.d/orcaops.conf', content: 'create_main_cluster = false\n', mode: 0o644 }],
  purge: ['libllvm14', 'libz3-4', 'perl', 'libperl5.36', 'perl-modules-5.36', 'libjson-perl'],
  remove: [
    `usr/lib/postgresql/${PG_MAJOR}/lib/llvmjit.so`,
    `usr/lib/postgresql/${PG_MAJOR}/lib/llvmjit_types.bc`,
    `usr/lib/postgresql/${PG_MAJOR}/lib/bitcode`,
    // ssl-cert's snakeoil key would be the same private key in every container: never used, not shipped.
    'etc/ssl/private/ssl-cert-snakeoil.key',
    'etc/ssl/certs/ssl-cert-snakeoil.pem',
  ],
  files: [{ path: 'usr/local/bin/docker-entrypoint.sh', content: POSTGRES_ENTRYPOINT, mode: 0o755 }],
  finish: linkClientBinaries,
  changes: [
    `ENV PATH=${PG_BIN}:${STANDARD_PATH}`,
    'ENV LANG=C.UTF-8',
    // Clients in the container (psql, pg_isready as a health check) find the server's socket.
    'ENV PGHOST=/tmp',
    'USER 65534:65534',
    'EXPOSE 5432',
    'WORKDIR /tmp',
    'ENTRYPOINT ["docker-entrypoint.sh"]',
    'CMD ["postgres"]',
  ],
};
