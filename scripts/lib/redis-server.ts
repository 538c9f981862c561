import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';

export interface RedisServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Runs `command` on a connection of its own to the server on `url`, made for it and closed after;
 * rejects when the server does not answer (nothing is retried).
 */
export async function askRedis<T>(url: string, command: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Refused connections are expected while a server starts or is gone; connect() reports them.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await command(redis);
  } finally {
    redis.disconnect();
  }
}

export async function waitForPing(url: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    if ((await askRedis(url, (redis) => redis.ping()).catch(() => undefined)) === 'PONG') return;
    if (Date.now() > until) throw new Error(`redis-server did not answer within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A private redis-server on a free loopback port, keeping its files in `dir`. `persist` turns on
 * the append-only file, so queued pages survive a restart of `npm start`; `port` restarts a
 * stopped server where its clients expect it; `extra` are more of redis-server's options. BullMQ
 * needs `noeviction`: an evicted key is a lost job.
 */
export async function startRedisServer(
  dir: string,
  persist: boolean,
  port?: number,
  extra: string[] = [],
): Promise<RedisServer> {
  const listen = port ?? (await freePort());
  const args = ['--port', String(listen), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push('--appendonly', persist ? 'yes' : 'no', '--maxmemory-policy', 'noeviction', ...extra);
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `redis://127.0.0.1:${listen}`;
  await waitForPing(url, child, 10_000);
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const usedMemory = async (redis: Redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);

/**
 * Makes the server on `url` full, as a Redis at `maxmemory` under `noeviction` is: a limit just
 * above what it uses, filled up until a write is refused (OOM), then held just under what it
 * uses, so that the query buffers a refusal frees do not let a write through now and then.
 * Resolves with what empties it again (the filler removed, no limit).
 */
export async function fillRedis(url: string): Promise<() => Promise<void>> {
  const fillers = await askRedis(url, async (redis) => {
    await redis.config('SET', 'maxmemory', String((await usedMemory(redis)) + 512 * 1024));
    for (let i = 0; ; i++) {
      const refused = await redis.set(`filler:${i}`, 'x'.repeat(64 * 1024)).then(
        () => false,
        (err: Error) => err.message.startsWith('OOM'),
      );
      if (!refused) continue;
      await redis.config('SET', 'maxmemory', String((await usedMemory(redis)) - 512 * 1024));
      return i;
    }
  });
  return () =>
    askRedis(url, async (redis) => {
      if (fillers > 0) await redis.del(...Array.from({ length: fillers }, (_, i) => `filler:${i}`));
      await redis.config('SET', 'maxmemory', '0');
    });
}
