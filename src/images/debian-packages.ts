import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCommand, HostCommandError, isRoot, runCommand } from 'src/images/host-commands';

const APT_TIMEOUT_MS = 10 * 60_000;

/** As root, apt hands downloads to its `_apt` user, which cannot write to a private temp dir. */
function aptOptions(): string[] {
  return isRoot() ? ['-o', 'APT::Sandbox::User=root'] : [];
}

async function aptUpdate(reason: string): Promise<void> {
  if (!isRoot()) throw new Error(`${reason}; run \`apt-get update\` as root, then retry`);
  await runCommand('apt-get', ['update', '-qq'], { timeoutMs: APT_TIMEOUT_MS });
}

/** Downloads a package's .deb with the host's apt configuration; runs `apt-get update` once if needed. */
export async function downloadDebianPackage(name: string, dir: string): Promise<string> {
  const download = (): Promise<string> =>
    runCommand('apt-get', ['download', '-q', ...aptOptions(), name], { cwd: dir, timeoutMs: APT_TIMEOUT_MS });
  try {
    await download();
  } catch (error) {
    if (error instanceof HostCommandError && error.notFound) {
      throw new Error(
        `apt-get is not installed: building this image needs a Debian-based host (apt-get, dpkg-deb)`,
      );
    }
    await aptUpdate(`\`apt-get download ${name}\` failed (${(error as Error).message.split('\n')[0] ?? ''})`);
    await download();
  }
  const deb = (await readdir(dir)).find((file) => file.startsWith(`${name}_`) && file.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${name} produced no .deb in ${dir}`);
  return join(dir, deb);
}

/** Makes sure a host tool is installed: installs its Debian package when missing and running as root. */
export async function ensureHostTool(command: string, debianPackage: string): Promise<void> {
  if (await hasCommand(command)) return;
  if (!isRoot()) {
    throw new Error(
      `${command} is not installed: install the Debian package "${debianPackage}" (as root: apt-get install ${debianPackage})`,
    );
  }
  const install = (): Promise<string> =>
    runCommand('apt-get', ['install', '-y', '-qq', '--no-install-recommends', debianPackage], {
      timeoutMs: APT_TIMEOUT_MS,
    });
  await install().catch(async () => {
    await aptUpdate(`apt-get install ${debianPackage} failed`);
    await install();
  });
}

/** The Version field of one package in a dpkg status file (…/var/lib/dpkg/status). */
export function installedVersion(statusText: string, name: string): string | undefined {
  for (const stanza of statusText.split(/\n\s*\n/)) {
    if (!new RegExp(`^Package: ${name.replace(/[.+]/g, '\\$&')}$`, 'm').test(stanza)) continue;
    return /^Version: (.+)$/m.exec(stanza)?.[1]?.trim();
  }
  return undefined;
}
