import type { RunFacts, SummaryKind } from 'src/log-analysis/log-summary';
import { commandMissing, missingPath, networkNeeded, npmInstall, pipInstall, quoted, readOnly } from 'src/log-analysis/suggestions';

/** A candidate error line. Higher priority wins; on a tie the later line wins when `lastWins`. */
export interface Candidate {
  kind: SummaryKind;
  priority: number;
  lastWins: boolean;
  line: number;
  summary: string;
  suggestion: string | null;
  /** Lines of context before and after `line` in the excerpt. */
  before: number;
  after: number;
}

/**
 * The analysis reads output as Latin-1 (one character per byte: cheap to decode, offsets are byte
 * offsets, and any byte sequence is valid); text taken from the log is turned back into UTF-8 at the end.
 * Jest's "● " in that reading:
 */
const BULLET = '\u00e2\u0097\u008f ';

/** Test runners and package managers name the failure; exceptions next; shell errors; any error line last. */
const P_RUNNER = 4;
const P_EXCEPTION = 3;
const P_SHELL = 2;
const P_WRAPPER = 1;
const P_GENERIC = 0;

export type CandidateInput = Omit<Candidate, 'line' | 'before' | 'after'> & Partial<Pick<Candidate, 'line' | 'before' | 'after'>>;
/** Records a candidate (at the current line unless `line` says otherwise) and returns it, whether or not it leads. */
export type Offer = (c: CandidateInput) => Candidate;

/** `Name: message` where Name is an identifier path (ValueError, java.lang.IllegalStateException, Error [ERR_X]). */
export function errorName(line: string): { name: string; message: string } | null {
  const colon = line.indexOf(':');
  const head = colon < 0 ? line : line.slice(0, colon);
  if (head.length === 0 || head.length > 120) return null;
  const bracket = head.indexOf(' [');
  const name = bracket > 0 && head.endsWith(']') ? head.slice(0, bracket) : head;
  if (!/^[A-Za-z_$][\w$.]*$/.test(name)) return null;
  const last = name.slice(name.lastIndexOf('.') + 1);
  if (colon < 0 && !/(Error|Exception|Interrupt|Exit)$/.test(last)) return null;
  if (colon >= 0 && !/(Error|Exception|Interrupt|Exit|Warning|Failure|Fault)$/.test(last) && name !== 'Error') return null;
  return { name, message: colon < 0 ? '' : line.slice(colon + 1).trim() };
}

function isJavaFrame(frame: string): boolean {
  return /\.(java|kt|scala|groovy):\d+\)$/.test(frame) || frame.endsWith('(Native Method)') || frame.endsWith('(Unknown Source)');
}

/**
 * The line-by-line detectors, with the little state multi-line reports need (a Python traceback, a stack
 * of `at` frames, a Go panic). Each line costs a bounded amount of work; the state is a few fields.
 */

/** Lines of other output a Python traceback may contain before it is given up (see python()). */
const MAX_TRACEBACK_STRAYS = 3;
const TRACEBACK_HEADER = 'Traceback (most recent call last):';
export class Detectors {
  /** Inside a Python traceback: its innermost frame so far, and lines of other output seen inside it. */
  private py: { frame: string | null; strays: number; source: number | undefined } | null = null;
  /** The last `Name: message` line at column 0, for the stack frames that may follow. */
  private errorLike: { line: number; text: string; used: boolean } | null = null;
  private stack: { candidate: Candidate; frame: string | null; java: boolean } | null = null;
  private goPanic: { candidate: Candidate; sawGoroutine: boolean; frame: string | null } | null = null;
  private awaitingMessage: { candidate: Candidate; prefix: string; left: number } | null = null;
  private npm: { candidate: Candidate; parts: string[] } | null = null;
  private tsErrors = 0;
  private tsCandidate: Candidate | null = null;
  private goFails = 0;
  private jestFails = 0;
  private pytestFails = 0;
  totals: string | null = null;
  networkTrouble = false;

  constructor(
    private readonly facts: RunFacts,
    private readonly offer: Offer,
  ) {}

  /**
   * Whether the next line must be read even if it holds no trigger word: a multi-line report is open
   * (a traceback's frames, a stack, a panic's goroutine, a test's message, npm's error block).
   */
  busy(nextLine: number): boolean {
    return (
      this.py !== null ||
      this.stack !== null ||
      this.goPanic !== null ||
      this.awaitingMessage !== null ||
      this.npm !== null ||
      (this.errorLike !== null && !this.errorLike.used && nextLine - this.errorLike.line <= 8)
    );
  }

  /** `source`: which stream the line came from, when known (see joinStreamLines). */
  visit(lineNo: number, line: string, source?: number): void {
    if (this.awaitingMessage) this.takeMessage(line);
    if (this.py && this.python(lineNo, line, source)) return;
    if (this.goPanic && this.goFrames(line)) return;
    if (this.frames(lineNo, line)) return;
    this.npmContinues(line);
    if (line.length === 0) return;
    const c0 = line[0];
    if (c0 !== ' ' && c0 !== '\t') this.columnZero(lineNo, line, source);
    else this.indented(lineNo, line);
  }

  /** After the last line: counts that belong in the one-line summary. */
  finish(): void {
    if (this.tsCandidate && this.tsErrors > 1) this.tsCandidate.summary = `TypeScript: ${this.tsErrors} errors; first: ${this.tsCandidate.summary}`;
  }

  // --- Python tracebacks: the exception line, with the innermost frame ------------------------------------
  private python(lineNo: number, line: string, source: number | undefined): boolean {
    const py = this.py!;
    // Another stream's lines inside the traceback (a block of stdout copied late) neither end it nor count.
    if (source !== undefined && py.source !== undefined && source !== py.source) return false;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      const t = line.trimStart();
      if (t.startsWith('File "')) py.frame = pythonFrame(t);
      return true;
    }
    if (line.length === 0) return true;
    this.py = null;
    const err = errorName(line);
    if (!err) {
      // stdout and stderr are copied separately, so a program's other output can land inside its
      // traceback ("loading" flushed at exit); a few such lines do not end the traceback.
      if (py.strays < MAX_TRACEBACK_STRAYS) this.py = { ...py, strays: py.strays + 1 };
      return false;
    }
    const at = py.frame ? ` (at ${py.frame})` : '';
    this.offer({ kind: 'python_exception', priority: P_EXCEPTION, lastWins: true, summary: `${line.trim()}${at}`, suggestion: this.pythonSuggestion(err.name, err.message), before: 6, after: 1 });
    return true;
  }

  private pythonSuggestion(name: string, message: string): string | null {
    const short = name.slice(name.lastIndexOf('.') + 1);
    if (short === 'ModuleNotFoundError' || (short === 'ImportError' && message.startsWith('No module named'))) {
      const mod = quoted(message);
      return mod ? pipInstall(mod, this.facts) : null;
    }
    if (message.includes('No such file or directory')) {
      const path = lastQuoted(message);
      return path ? missingPath(path) : null;
    }
    if (message.includes('Read-only file system') || short === 'PermissionError') return readOnly();
    if (short === 'MemoryError') return 'the process ran out of memory: raise the memory limit (--memory)';
    if (short === 'ConnectionError' || message.includes('Temporary failure in name resolution') || message.includes('Name or service not known')) return networkNeeded(this.facts);
    return null;
  }

  // --- `at` frames (Node.js, Java): the error line above the first frame -----------------------------------
  private frames(lineNo: number, line: string): boolean {
    const t = line.startsWith('\tat ') || line.startsWith('    at ') || line.startsWith('        at ') ? line.trimStart().slice(3) : null;
    if (t === null) {
      if (this.stack && (line.startsWith('\t...') || line.trimStart().startsWith('... '))) return true;
      this.stack = null;
      return false;
    }
    if (this.stack) {
      if (this.stack.frame === null || (!this.stack.java && this.stack.frame.includes('node:internal') && !t.includes('node:internal'))) this.setFrame(t);
      return true;
    }
    const err = this.errorLike;
    if (!err || err.used || lineNo - err.line > 8) return true;
    err.used = true;
    const java = isJavaFrame(t);
    const candidate = this.offer({ ...(java ? this.javaCandidate(err.text) : this.nodeCandidate(err.text)), line: err.line });
    this.stack = { candidate, frame: null, java };
    this.setFrame(t);
    return true;
  }

  private setFrame(frame: string): void {
    const s = this.stack!;
    s.frame = frame;
    const base = s.candidate.summary.split(' (at ')[0];
    s.candidate.summary = `${base} (at ${frame.length > 160 ? `${frame.slice(0, 160)}...` : frame})`;
  }

  private javaCandidate(text: string): CandidateInput {
    let t = text;
    if (t.startsWith('Caused by: ')) t = t.slice('Caused by: '.length);
    const thread = t.startsWith('Exception in thread "') ? t.indexOf('" ', 21) : -1;
    if (thread > 0) t = t.slice(thread + 2);
    const err = errorName(t);
    const message = err?.message ?? '';
    const suggestion = message.includes('(No such file or directory)') ? missingPath(message.split(' (No such file')[0]!.trim()) : null;
    // The root cause (the last "Caused by") is the one to show.
    return { kind: 'java_exception', priority: P_EXCEPTION, lastWins: true, summary: t, suggestion };
  }

  private nodeCandidate(text: string): CandidateInput {
    const t = text.startsWith('Uncaught ') ? text.slice(9) : text;
    const err = errorName(t);
    let suggestion: string | null = null;
    if (err && (err.message.startsWith('Cannot find module') || err.message.startsWith('Cannot find package'))) {
      const name = quoted(err.message);
      if (name && (name.startsWith('.') || name.startsWith('/'))) suggestion = missingPath(name);
      else if (name) suggestion = npmInstall(name.startsWith('@') ? name.split('/').slice(0, 2).join('/') : name.split('/')[0]!, this.facts);
    } else if (err && (err.message.includes('ENOENT') || err.message.includes('no such file'))) {
      const path = lastQuoted(err.message);
      if (path) suggestion = missingPath(path);
    } else if (err && (err.message.includes('EROFS') || err.message.includes('EACCES'))) suggestion = readOnly();
    else if (err && (err.message.includes('ENOTFOUND') || err.message.includes('EAI_AGAIN') || err.message.includes('ECONNREFUSED'))) suggestion = networkNeeded(this.facts);
    return { kind: 'node_error', priority: P_EXCEPTION, lastWins: true, summary: t, suggestion };
  }

  // --- Go panics: the panic line, with the first frame that is not the runtime's ----------------------------
  private goFrames(line: string): boolean {
    const g = this.goPanic!;
    if (line.startsWith('goroutine ') && line.endsWith(':')) {
      g.sawGoroutine = true;
      return true;
    }
    if (!g.sawGoroutine) return line.length === 0 || line.startsWith('[signal ');
    if (line.startsWith('\t')) return true;
    if (line.length === 0 || g.frame !== null) {
      this.goPanic = null;
      return line.length === 0;
    }
    if (line.startsWith('panic(') || line.startsWith('runtime.')) return true;
    g.frame = line;
    g.candidate.summary = `${g.candidate.summary} (in ${line.length > 120 ? `${line.slice(0, 120)}...` : line})`;
    return true;
  }

  // --- Lines that start at column 0 -------------------------------------------------------------------------
  private columnZero(lineNo: number, line: string, source: number | undefined): void {
    // endsWith: a program's stdout line cut by its buffer flush can sit in front of the header on the
    // same line in the merged output (the rest of it follows the traceback).
    if (line.startsWith(TRACEBACK_HEADER) || line.endsWith(TRACEBACK_HEADER)) {
      this.py = { frame: null, strays: 0, source };
      return;
    }
    if (errorName(line.startsWith('Caused by: ') ? line.slice(11) : line.startsWith('Exception in thread "') ? 'Exception' : line.startsWith('Uncaught ') ? line.slice(9) : line)) {
      this.errorLike = { line: lineNo, text: line, used: false };
    }
    const pyErr = line.startsWith('E   ') ? errorName(line.slice(4).trim()) : null;
    if (pyErr) {
      // pytest's own traceback lines; a FAILED line of the short summary (a runner line) outranks them.
      const suggestion = this.pythonSuggestion(pyErr.name, pyErr.message);
      this.offer({ kind: 'pytest_failure', priority: P_EXCEPTION, lastWins: false, summary: `pytest: ${line.slice(4).trim()}`, suggestion, before: 4, after: 2 });
      return;
    }
    if (pythonCompileError(line)) {
      this.offer({ kind: 'python_exception', priority: P_EXCEPTION, lastWins: true, summary: line, suggestion: null, before: 4, after: 1 });
      return;
    }
    if (line.startsWith('panic: ') || line.startsWith('fatal error: ')) return this.panic(lineNo, line);
    if (line.startsWith('--- FAIL: ')) return this.goTestFail(lineNo, line);
    if (line.startsWith('FAILED ') && line.includes('::')) return this.pytestFail(lineNo, line);
    if (line.startsWith('ERROR ') && line.includes('.py')) return this.pytestFail(lineNo, line);
    if (line.startsWith('=') && line.endsWith('=') && (line.includes(' failed') || line.includes(' error')) && line.includes(' in ')) {
      this.totals = `pytest: ${trimEquals(line)}`;
      return;
    }
    if (line.startsWith('Tests:') && line.includes('failed')) {
      this.totals = `jest: ${line.slice(6).trim()}`;
      return;
    }
    if (line.startsWith('ERROR: ') || line.startsWith('error: externally-managed-environment') || line.endsWith('No module named pip')) return this.pip(lineNo, line);
    if (line.startsWith('WARNING: Retrying') && (line.includes('NewConnectionError') || line.includes('Temporary failure'))) this.networkTrouble = true;
    if (line.startsWith('npm ERR! ') || line.startsWith('npm error ')) return this.npmLine(lineNo, line);
    if (line.startsWith('E: ')) return this.apt(lineNo, line);
    if (isTypeScriptError(line)) return this.typescript(lineNo, line);
    if (isGoBuildError(line)) {
      this.offer({ kind: 'go_build_error', priority: P_EXCEPTION, lastWins: false, summary: `Go build failed: ${line}`, suggestion: null, before: 1, after: 2 });
      return;
    }
    if (this.shell(lineNo, line)) return;
    this.generic(line);
  }

  private indented(lineNo: number, line: string): void {
    const t = line.trimStart();
    if (t.startsWith(BULLET) && !t.startsWith(`${BULLET}Console`)) return this.jestFail(lineNo, t);
    if (t.startsWith('--- FAIL: ')) return this.goTestFail(lineNo, t);
    if (isTypeScriptError(t)) this.typescript(lineNo, t);
  }

  private panic(lineNo: number, line: string): void {
    const summary = line.startsWith('panic: ') ? `Go panic: ${line.slice(7)}` : `Go ${line}`;
    const candidate = this.offer({ kind: 'go_panic', priority: P_EXCEPTION, lastWins: false, summary, suggestion: null, before: 1, after: 6 });
    this.goPanic = { candidate, sawGoroutine: false, frame: null };
  }

  private goTestFail(lineNo: number, line: string): void {
    this.goFails++;
    const name = line.slice(10).split(' (')[0];
    const candidate = this.offer({ kind: 'go_test_failure', priority: P_RUNNER, lastWins: false, summary: `go test: ${name} failed`, suggestion: null, before: 2, after: 4 });
    if (this.goFails === 1) this.awaitingMessage = { candidate, prefix: candidate.summary, left: 2 };
    this.totals = this.goFails > 1 ? `go test: ${this.goFails} tests failed` : null;
  }

  private pytestFail(lineNo: number, line: string): void {
    this.pytestFails++;
    const body = line.slice(line.indexOf(' ') + 1);
    const err = body.split(' - ').slice(1).join(' - ');
    const mod = err.includes('No module named') ? quoted(err) : null;
    // "ERROR tests/x.py" without a message says less than the E line above it.
    this.offer({ kind: 'pytest_failure', priority: err ? P_RUNNER : P_SHELL, lastWins: false, summary: `pytest: ${line}`, suggestion: mod ? pipInstall(mod, this.facts) : null, before: 1, after: 3 });
  }

  private jestFail(lineNo: number, t: string): void {
    this.jestFails++;
    const candidate = this.offer({ kind: 'jest_failure', priority: P_RUNNER, lastWins: false, summary: `jest: ${t.slice(BULLET.length)} failed`, suggestion: null, before: 1, after: 8 });
    if (this.jestFails === 1) this.awaitingMessage = { candidate, prefix: candidate.summary, left: 3 };
  }

  /** The first non-empty line after a test failure header: the assertion message. */
  private takeMessage(line: string): void {
    const a = this.awaitingMessage!;
    const t = line.trim();
    if (t.length === 0 || t.startsWith('=== ') || t.startsWith('--- ')) {
      if (--a.left <= 0 || t.startsWith('--- ')) this.awaitingMessage = null;
      return;
    }
    a.candidate.summary = `${a.prefix}: ${t.length > 200 ? `${t.slice(0, 200)}...` : t}`;
    const mod = t.includes('Cannot find module') ? quoted(t) : null;
    if (mod && !mod.startsWith('.')) a.candidate.suggestion = npmInstall(mod, this.facts);
    this.awaitingMessage = null;
  }

  private pip(lineNo: number, line: string): void {
    if (line.includes("pip's dependency resolver")) return;
    let suggestion: string | null = null;
    if (line.startsWith('error: externally-managed-environment')) suggestion = 'the system Python is managed by Debian: use a virtual environment (python3 -m venv /tmp/venv) or pip install --user --break-system-packages';
    else if (line.endsWith('No module named pip')) suggestion = 'pip is not installed in the image: use an image with pip, or install python3-pip in it';
    else if (line.includes('No matching distribution') || line.includes('Could not find a version')) {
      suggestion = this.networkTrouble || this.facts.network === 'none' ? networkNeeded(this.facts) : 'check the package name and version on PyPI';
    } else if (line.includes('Could not open requirements file')) suggestion = missingPath(lastQuoted(line) ?? 'requirements.txt');
    else if (line.includes('Permission denied') || line.includes('Read-only file system')) suggestion = readOnly();
    const kind = line.startsWith('ERROR: ') && !PIP_PHRASES.some((p) => line.includes(p)) ? 'error_line' : 'pip_error';
    this.offer({ kind, priority: kind === 'pip_error' ? P_RUNNER : P_GENERIC, lastWins: true, summary: kind === 'pip_error' ? `pip: ${line}` : line, suggestion, before: 3, after: 1 });
  }

  private npmLine(lineNo: number, line: string): void {
    const body = line.slice(line.startsWith('npm ERR! ') ? 9 : 10);
    if (this.npm) {
      if (this.npm.parts.length < 3 && body.trim().length > 0 && !body.startsWith('A complete log') && !body.startsWith('   ')) this.npm.parts.push(body.trim());
      this.refreshNpm();
      return;
    }
    const code = body.startsWith('code ') ? body.slice(5).trim() : '';
    const wrapper = code === 'ELIFECYCLE' || /^\d+$/.test(code) || code === '';
    const candidate = this.offer({ kind: 'npm_error', priority: wrapper ? P_WRAPPER : P_RUNNER, lastWins: false, summary: `npm: ${body}`, suggestion: null, before: 2, after: 4 });
    this.npm = { candidate, parts: [body.trim()] };
    this.refreshNpm();
  }

  private npmContinues(line: string): void {
    if (this.npm && !line.startsWith('npm ERR! ') && !line.startsWith('npm error ')) this.npm = null;
  }

  private refreshNpm(): void {
    const { candidate, parts } = this.npm!;
    if (candidate.kind !== 'npm_error') return;
    const all = parts.join(' ');
    candidate.summary = `npm: ${all.length > 240 ? `${all.slice(0, 240)}...` : all}`;
    if (all.includes('E404')) {
      const pkg = all.split('registry.npmjs.org/')[1]?.split(' ')[0];
      candidate.suggestion = pkg ? `the package "${decodeURIComponent(pkg)}" does not exist in the registry: check its name and version in package.json` : 'the package does not exist in the registry: check its name and version';
    } else if (all.includes('ENOTFOUND') || all.includes('EAI_AGAIN') || all.includes('ECONNREFUSED') || all.includes('ETIMEDOUT')) candidate.suggestion = networkNeeded(this.facts);
    else if (all.includes('ERESOLVE')) candidate.suggestion = 'conflicting peer dependencies: fix the versions, or npm install --legacy-peer-deps';
    else if (all.includes('ENOENT') && all.includes('package.json')) candidate.suggestion = missingPath('/workspace/package.json');
    else if (all.includes('EACCES') || all.includes('EROFS')) candidate.suggestion = readOnly();
  }

  private apt(lineNo: number, line: string): void {
    let suggestion: string | null = null;
    if (line.includes('Unable to locate package')) suggestion = `check the package name, and run apt-get update first: ${line.slice(line.lastIndexOf(' ') + 1)} is unknown to the package lists`;
    else if (line.includes('Permission denied') || line.includes('are you root')) suggestion = 'apt needs root and the container runs as a non-root user: use an image with the package installed';
    else if (line.includes('Failed to fetch') || line.includes('Temporary failure resolving') || line.includes('Could not resolve')) suggestion = networkNeeded(this.facts);
    else if (line.includes('has no installation candidate')) suggestion = 'the package exists but not for this release: pick another package or image';
    this.offer({ kind: 'apt_error', priority: P_RUNNER, lastWins: false, summary: `apt: ${line.slice(3)}`, suggestion, before: 3, after: 1 });
  }

  private typescript(lineNo: number, line: string): void {
    this.tsErrors++;
    const c = this.offer({ kind: 'typescript_error', priority: P_EXCEPTION, lastWins: false, summary: line, suggestion: null, before: 1, after: 2 });
    if (this.tsErrors === 1) this.tsCandidate = c;
  }

  // --- Shell errors ----------------------------------------------------------------------------------------
  private shell(lineNo: number, line: string): boolean {
    if (line.endsWith(': command not found') || (line.endsWith(': not found') && isShellPrefix(line))) {
      const parts = line.split(': ');
      const command = parts[parts.length - 2] ?? '';
      this.offer({ kind: 'command_not_found', priority: P_SHELL, lastWins: false, summary: `command not found: ${command}`, suggestion: commandMissing(command, this.facts), before: 2, after: 1 });
      return true;
    }
    if (line.includes('No such file or directory') || line.includes("can't cd to ")) {
      const path = missingPathIn(line);
      this.offer({ kind: 'no_such_file', priority: P_SHELL, lastWins: false, summary: path ? `no such file or directory: ${path}` : line, suggestion: path ? missingPath(path) : null, before: 2, after: 1 });
      return true;
    }
    if (line.endsWith(': Permission denied') || line.endsWith(': Read-only file system')) {
      this.offer({ kind: 'permission_denied', priority: P_SHELL, lastWins: false, summary: line, suggestion: readOnly(), before: 2, after: 1 });
      return true;
    }
    return false;
  }

  private generic(line: string): void {
    const lower = line.slice(0, 40).toLowerCase();
    if (
      lower.startsWith('error') ||
      lower.startsWith('fatal') ||
      lower.startsWith('[error]') ||
      line.startsWith('Segmentation fault') ||
      line.includes(' ERROR ') ||
      line.includes(' FATAL ') ||
      lower.includes('error:')
    ) {
      this.offer({ kind: 'error_line', priority: P_GENERIC, lastWins: true, summary: line.length > 240 ? `${line.slice(0, 240)}...` : line, suggestion: null, before: 3, after: 2 });
    }
  }
}

/** What pip says in its ERROR lines (other tools print "ERROR: " too). */
const PIP_PHRASES = ['requirement', 'distribution', 'Could not install', 'wheel', 'ResolutionImpossible', 'Cannot install', 'pip install', "pip's", 'Could not build', 'site-packages'];

/** SyntaxError and friends are reported without a "Traceback" header. */
function pythonCompileError(line: string): boolean {
  return line.startsWith('SyntaxError: ') || line.startsWith('IndentationError: ') || line.startsWith('TabError: ');
}

function pythonFrame(t: string): string | null {
  // File "/workspace/app.py", line 12, in main
  const end = t.indexOf('"', 6);
  if (end < 0) return null;
  const file = t.slice(6, end);
  const rest = t.slice(end + 1);
  const lineAt = rest.indexOf('line ');
  const lineNo = lineAt >= 0 ? rest.slice(lineAt + 5).split(',')[0] : '?';
  const inAt = rest.indexOf(' in ');
  return `${file}:${lineNo}${inAt >= 0 ? ` in ${rest.slice(inAt + 4).trim()}` : ''}`;
}

function lastQuoted(text: string): string | null {
  for (const q of ["'", '"']) {
    const end = text.lastIndexOf(q);
    const start = end > 0 ? text.lastIndexOf(q, end - 1) : -1;
    if (start >= 0 && end > start + 1) return text.slice(start + 1, end);
  }
  return null;
}

function missingPathIn(line: string): string | null {
  const q = lastQuoted(line.split('No such file or directory')[0] ?? '');
  if (q) return q;
  const cd = line.indexOf("can't cd to ");
  if (cd >= 0) return line.slice(cd + 12).split(':')[0]!.trim() || null;
  const parts = (line.split(': No such file or directory')[0] ?? '').split(': ');
  const last = parts[parts.length - 1]?.trim() ?? '';
  const cleaned = last.startsWith('cannot open ') ? last.slice(12) : last.startsWith("can't open ") ? last.slice(11) : last;
  return cleaned.length > 0 && parts.length > 1 && !cleaned.includes(' ') ? cleaned : null;
}

function isShellPrefix(line: string): boolean {
  return line.startsWith('sh: ') || line.startsWith('bash: ') || line.startsWith('/bin/sh: ') || line.startsWith('/bin/bash: ') || line.startsWith('zsh: ') || line.includes('.sh: ');
}

function isTypeScriptError(line: string): boolean {
  const at = line.indexOf('error TS');
  return at > 0 && (line.startsWith('error TS') || line.slice(0, at).includes('.ts') || line.slice(0, at).includes('.tsx'));
}

function isGoBuildError(line: string): boolean {
  const at = line.indexOf('.go:');
  return at > 0 && !line.slice(0, at).includes(' ') && /^\d+:\d+: /.test(line.slice(at + 4, at + 20));
}

function trimEquals(line: string): string {
  let s = 0;
  let e = line.length;
  while (s < e && line[s] === '=') s++;
  while (e > s && line[e - 1] === '=') e--;
  return line.slice(s, e).trim();
}
