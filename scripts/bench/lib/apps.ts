import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKER_PROCESS_ENV } from '../../lib/process-env.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface App {
  child: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// A benchmark that fails midway must not leave processes behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts the built API or worker (dist) as a real process; its log goes to `logFile`. */
export function startApp(app: 'api' | 'worker', env: Record<string, string>, logFile: string): App {
  const child = spawn(process.execPath, [path.join(root, 'apps', app, 'dist', 'main.js')], {
    env: { ...process.env, ...(app === 'worker' ? WORKER_PROCESS_ENV : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  if (child.pid === undefined) throw new Error(`could not start the ${app}`);
  running.add(child);
  child.once('exit', () => running.delete(child));
  return {
    child,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
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
