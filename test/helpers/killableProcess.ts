/**
 * Runs a `node` child process that a test may kill with SIGKILL at a chosen moment, as a crash or an
 * out-of-memory killer would: after a line of its stdout matches, plus a delay.
 */
import { spawn } from 'node:child_process';

/** What one run of the child did. */
export interface ChildRun {
  /** Its stdout lines, up to the kill. */
  lines: string[];
  /** The last line before the kill (or the exit). */
  lastLine: string;
  /** When each line arrived (`performance.now()`). */
  lineTimes: number[];
  stderr: string;
  killed: boolean;
  code: number | null;
}

/** Options of {@link runChild}. */
export interface RunChildOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Kill it `delayMs` after the first stdout line for which `when` is true (never, without). */
  kill?: { when: (line: string) => boolean; delayMs: number };
}

/**
 * Runs `node <args>` to its end or its kill. A run that exits non-zero without being killed rejects with its
 * stderr.
 */
export function runChild(args: readonly string[], options: RunChildOptions): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const lineTimes: number[] = [];
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | null = null;
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) {
        if (killed) return;
        lines.push(line);
        lineTimes.push(performance.now());
        if (options.kill !== undefined && timer === null && options.kill.when(line)) {
          timer = setTimeout(() => {
            killed = true;
            child.kill('SIGKILL');
          }, options.kill.delayMs);
        }
      }
    });
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer !== null) clearTimeout(timer);
      if (!killed && buffered !== '') lines.push(buffered);
      const result = { lines, lastLine: lines.at(-1) ?? '', lineTimes, stderr, killed, code };
      resolve(result);
    });
  });
}
