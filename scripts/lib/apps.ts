import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKER_PROCESS_ENV } from './process-env.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface AppOptions {
  /** Where the process' stdout and stderr are appended; unset, stderr is this process' own. */
  logFile?: string;
  /** A command the app runs under (e.g. prlimit). */
  wrapper?: string[];
  /**
   * What runs: the build (`dist`, what is deployed: `npm start`, the soak, the benchmarks), or the
   * sources through tsx (`src`: tests, so that a test runs the code it tests, built or not).
   */
  source?: 'dist' | 'src';
  /** Another checkout whose build runs instead of this one's (a benchmark comparing two versions). */
  root?: string;
}

export interface AppProcess {
  child: ChildProcess;
  pid: number;
  /** Parsed JSON log lines so far (a line that is not JSON is kept as `{ msg }`). */
  logs: Array<Record<string, unknown>>;
  /** Resolves with the first log line (past or future) that `match` accepts. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, then waits for the process to exit. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// A test or benchmark that fails midway must not leave processes behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * An app as a real child process (its build, or its sources), with the environment every worker
 * process of this repo gets, reading its JSON logs.
 */
export function startApp(app: 'api' | 'worker', env: Record<string, string>, options: AppOptions = {}): AppProcess {
  const main =
    options.source === 'src'
      ? ['--import', 'tsx', path.join(root, 'apps', app, 'src', 'main.ts')]
      : [path.join(options.root ?? root, 'apps', app, 'dist', 'main.js')];
  const [command, ...args] = [...(options.wrapper ?? []), process.execPath, ...main];
  const child = spawn(command ?? process.execPath, args, {
    env: { ...process.env, ...(app === 'worker' ? WORKER_PROCESS_ENV : {}), ...env },
    stdio: ['ignore', 'pipe', options.logFile ? 'pipe' : 'inherit'],
  });
  return watchProcess(child, app, options.logFile);
}

/**
 * Reads the JSON log lines of a process started with its stdout piped (an app, or `podman run`
 * running one), and kills it when this process exits.
 */
export function watchProcess(child: ChildProcess, label: string, logFile?: string): AppProcess {
  if (child.pid === undefined) throw new Error(`could not start the ${label}`);
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (logFile) {
    const log = createWriteStream(logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  }
  const logs: Array<Record<string, unknown>> = [];
  const watchers = new Set<() => void>();
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // A line that is not JSON (a crash trace) is kept as a message.
        logs.push({ msg: line });
      }
    }
    for (const watcher of watchers) watcher();
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    pid: child.pid,
    logs,
    exited,
    waitForLog(match, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = logs.find(match);
          if (!found) return;
          watchers.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          const last = logs.slice(-5).map((line) => JSON.stringify(line));
          reject(new Error(`${label}: no such log line within ${timeoutMs} ms; last lines:\n${last.join('\n')}`));
        }, timeoutMs);
        watchers.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Stops a process for good (SIGKILL) and waits for it to be gone. */
export async function kill(app: AppProcess): Promise<void> {
  if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
  await app.exited;
}

/** Waits until the API answers /ready. */
export async function waitReady(url: string, deadlineMs = 30_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await fetch(`${url}/ready`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > until) throw new Error(`${url} was not ready within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
