import { STANDARD_PATH } from 'src/images/debian-rootfs';
import type { DebianImageDefinition } from 'src/images/recipes/debian-image.recipe';

/**
 * The container's start, like the official image's: flags (or a .conf file) as the command go to
 * redis-server. The server's directory (RDB/AOF files) is the first writable of /data (a volume), /workspace
 * and /tmp. Without a config file protected mode is off, as in the official image: the server is reached
 * only on the environment's private network, and protected mode would refuse every other container.
 */
export const REDIS_ENTRYPOINT = `#!/bin/sh
set -eu
if [ "\${1#-}" != "$1" ] || [ "\${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then
  for dir in /data /workspace /tmp; do
    if [ -w "$dir" ]; then cd "$dir"; break; fi
  done
  case " $* " in
    *" --protected-mode "* | *.conf" "*) ;;
    *) set -- "$@" --protected-mode no ;;
  esac
fi
exec "$@"
`;

/** orcaops/redis: Debian's redis-server and redis-cli, run as nobody. */
export const REDIS_IMAGE: DebianImageDefinition = {
  packages: ['redis-server'],
  versionPackage: 'redis-server',
  files: [{ path: 'usr/local/bin/docker-entrypoint.sh', content: REDIS_ENTRYPOINT, mode: 0o755 }],
  changes: [
    `ENV PATH=${STANDARD_PATH}`,
    'ENV LANG=C.UTF-8',
    'USER 65534:65534',
    'EXPOSE 6379',
    'WORKDIR /tmp',
    'ENTRYPOINT ["docker-entrypoint.sh"]',
    'CMD ["redis-server"]',
  ],
};
