import { STANDARD_PATH } from 'src/images/debian-rootfs';
import type { DebianImageDefinition } from 'src/images/recipes/debian-image.recipe';

/** Where `pip install` puts packages: the root is read-only, /workspace is writable (and allows exec). */
const USER_BASE = '/workspace/.local';

/**
 * orcaops/python: Debian bookworm (minbase) with python3, pip and venv. Debian marks its python
 * "externally managed" (PEP 668); in an image whose root is read-only that only blocks `pip install`,
 * so the marker goes and pip installs into the user base on /workspace (or into a venv).
 */
export const PYTHON_IMAGE: DebianImageDefinition = {
  packages: ['python3', 'python3-pip', 'python3-venv'],
  versionPackage: 'python3',
  remove: ['usr/lib/python3.11/EXTERNALLY-MANAGED'],
  changes: [
    `ENV PATH=${USER_BASE}/bin:${STANDARD_PATH}`,
    'ENV LANG=C.UTF-8',
    `ENV PYTHONUSERBASE=${USER_BASE}`,
    'ENV PIP_DISABLE_PIP_VERSION_CHECK=1',
    'ENV PIP_NO_CACHE_DIR=1',
    'WORKDIR /workspace',
    'CMD ["/bin/sh"]',
  ],
};
