// `npm start`: the whole service on one machine. A private redis-server when no Redis is
// configured (its files under DATA_DIR/redis), then the API and one worker; Ctrl-C stops all three.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from '@pagefleet/shared';
import { WORKER_PROCESS_ENV } from './lib/process-env.js';
import { startRedisServer, type RedisServer } from './lib/redis-server.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const config = loadConfigOrExit();

let redis: RedisServer | undefined;
let redisUrl = config.REDIS_URL;
if (!redisUrl && !config.REDIS_SENTINELS && !config.REDIS_CLUSTER_NODES) {
  const dir = path.join(config.DATA_DIR, 'redis');
  await mkdir(dir, { recursive: true });
  redis = await startRedisServer(dir, true);
  redisUrl = redis.url;
  console.log(`pagefleet: started redis-server at ${redisUrl} (data in ${dir})`);
}

const env = { ...process.env, ...(redisUrl ? { REDIS_URL: redisUrl } : {}), DATA_DIR: config.DATA_DIR };
const children: ChildProcess[] = ['api', 'worker'].map((app) =>
  spawn(process.execPath, [path.join(root, 'apps', app, 'dist', 'main.js')], {
    env: app === 'worker' ? { ...env, ...WORKER_PROCESS_ENV } : env,
    stdio: 'inherit',
  }),
);
console.log(`pagefleet: API on http://localhost:${config.PORT} and one worker (it logs its memory budget and slots)`);

let stopping = false;
async function stopAll(code: number): Promise<never> {
  stopping = true;
  const exits = children
    .filter((child) => child.exitCode === null)
    .map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(exits);
  await redis?.stop();
  process.exit(code);
}

for (const child of children) {
  child.on('exit', (code) => {
    if (stopping) return;
    console.error(`pagefleet: a process exited (${code}); stopping the others`);
    void stopAll(1);
  });
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
