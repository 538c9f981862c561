import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Whether a command is installed: a file of that name in a folder of PATH. */
export const onPath = (command: string) =>
  (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, command)));

export interface RunOptions {
  timeoutMs: number;
  /** The child is killed once its stdout exceeds this many bytes. */
  maxBytes: number;
  /** Kills the child when it aborts; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Variables added to this process's environment for the child. */
  env?: Record<string, string>;
}

export class ToolError extends Error {
  override name = 'ToolError';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly reason: 'exit' | 'timeout' | 'too_large' | 'spawn',
  ) {
    super(message);
  }
}

const STDERR_LIMIT = 4096;

/**
 * util-linux's setpriv, where there is one (Linux): it sets PR_SET_PDEATHSIG and then execs the
 * tool, so the tool is killed the moment this process dies (SIGKILL, OOM kill), instead of
 * rendering or reading on for minutes for nobody.
 */
const PDEATHSIG = process.platform === 'linux' && onPath('setpriv');

/** The command line that runs `command`, tied to this process's life where the system can do it. */
function tiedToParent(command: string, args: string[]): [string, string[]] {
  return PDEATHSIG ? ['setpriv', ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];
}

/**
 * Runs a command-line tool from an argument array (never a shell) and returns its stdout.
 * The child is killed on timeout or when it writes more than `maxBytes`, so a hostile
 * document can cost at most that much time and memory.
 */
export function runTool(command: string, args: string[], options: RunOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // setpriv would report a missing tool as its own failure: say it as spawn does.
    if (PDEATHSIG && !(command.includes('/') ? existsSync(command) : onPath(command))) {
      reject(new ToolError(`${command} could not start: spawn ${command} ENOENT`, null, '', 'spawn'));
      return;
    }
    const [file, argv] = tiedToParent(command, args);
    const child = spawn(file, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let stderr = '';
    let failure: ToolError | undefined;

    const fail = (reason: ToolError['reason'], message: string) => {
      failure ??= new ToolError(message, null, stderr, reason);
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => fail('timeout', `${command} timed out after ${options.timeoutMs} ms`),
      options.timeoutMs,
    );
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      child.kill('SIGKILL');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > options.maxBytes) fail('too_large', `${command} output exceeded ${options.maxBytes} bytes`);
      else chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_LIMIT) stderr += chunk.toString('utf8').slice(0, STDERR_LIMIT - stderr.length);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(new ToolError(`${command} could not start: ${err.message}`, null, '', 'spawn'));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (aborted) reject(options.signal?.reason as Error);
      else if (failure) reject(failure);
      else if (code !== 0)
        reject(new ToolError(`${command} exited with ${code}: ${stderr.trim()}`, code, stderr, 'exit'));
      else resolve(Buffer.concat(chunks));
    });
  });
}
