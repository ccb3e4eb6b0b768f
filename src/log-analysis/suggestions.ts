/** Concrete next steps for causes the analysis recognises. Pure functions of the matched text and the record. */
import type { RunFacts } from 'src/log-analysis/log-summary';

/** Import names whose PyPI distribution is named differently. */
const PYPI_NAMES: Record<string, string> = {
  yaml: 'pyyaml',
  cv2: 'opencv-python',
  PIL: 'pillow',
  sklearn: 'scikit-learn',
  bs4: 'beautifulsoup4',
  dateutil: 'python-dateutil',
  dotenv: 'python-dotenv',
  jwt: 'pyjwt',
  google: 'google-api-python-client',
  Crypto: 'pycryptodome',
  magic: 'python-magic',
  serial: 'pyserial',
  attr: 'attrs',
};

const NO_NETWORK = 'the job runs without network (network: none): use --network egress to download packages, or use an image that has them';

export function quoted(text: string): string | null {
  for (const q of ["'", '"', '`']) {
    const start = text.indexOf(q);
    if (start < 0) continue;
    const end = text.indexOf(q, start + 1);
    if (end > start + 1) return text.slice(start + 1, end);
  }
  return null;
}

export function pipInstall(module: string, facts: RunFacts): string {
  const top = module.split('.')[0] ?? module;
  const install = `pip install ${PYPI_NAMES[top] ?? top}`;
  return facts.network === 'none' ? `the module "${top}" is not installed: ${install} (${NO_NETWORK})` : `the module "${top}" is not installed: ${install}`;
}

export function npmInstall(name: string, facts: RunFacts): string {
  const install = `npm install ${name}`;
  return facts.network === 'none' ? `the package "${name}" is not installed: ${install} (${NO_NETWORK})` : `the package "${name}" is not installed: ${install}`;
}

export function missingPath(path: string): string {
  return `the path "${path}" does not exist in the container: check the name and the working directory (/workspace), or create it in an earlier step`;
}

export function readOnly(): string {
  return 'the container root is read-only and runs as a non-root user: write under /workspace or /tmp';
}

export function networkNeeded(facts: RunFacts): string | null {
  return facts.network === 'none' ? NO_NETWORK : 'the network request failed: check the host name and that the registry is reachable';
}

export function commandMissing(command: string, facts: RunFacts): string {
  if (command === 'python' || command === 'pip') return `"${command}" is not on the PATH of ${facts.image ?? 'the image'}: use "python3" (or "python3 -m pip")`;
  return `"${command}" is not installed in ${facts.image ?? 'the image'}: use an image that has it, or install it in an earlier step`;
}

export function raiseMemory(facts: RunFacts): string {
  const now = facts.memoryMb;
  return now ? `raise the memory limit (now ${now} MiB), e.g. --memory ${now * 2}m, or make the job use less` : 'raise the memory limit (--memory), or make the job use less';
}

export function raiseTimeout(facts: RunFacts): string {
  const now = facts.timeoutSeconds;
  return now ? `raise the timeout (now ${now} s), e.g. --timeout ${now * 2}, or find what hangs in the last lines` : 'raise the timeout (--timeout), or find what hangs in the last lines';
}
