import { STANDARD_PATH } from 'src/images/debian-rootfs';
import type { DebianImageDefinition } from 'src/images/recipes/debian-image.recipe';

/**
 * orcaops/node: Debian's Node.js and npm. The root is read-only, so npm's cache goes to /tmp and its
 * update check is off (it would write to the home directory and reach the registry).
 */
export const NODE_IMAGE: DebianImageDefinition = {
  packages: ['nodejs', 'npm'],
  versionPackage: 'nodejs',
  changes: [
    `ENV PATH=${STANDARD_PATH}`,
    'ENV LANG=C.UTF-8',
    'ENV NPM_CONFIG_CACHE=/tmp/.npm',
    'ENV NPM_CONFIG_UPDATE_NOTIFIER=false',
    'ENV NPM_CONFIG_FUND=false',
    'WORKDIR /workspace',
    'CMD ["/bin/sh"]',
  ],
};
