import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { askRedis, freePort, startRedisServer, waitForPing, type RedisServer } from './redis-server.js';
import { until } from './until.js';

/** The name the sentinels monitor the primary under. */
export const SENTINEL_MASTER = 'pagefleet';

const SENTINELS = 3;
const QUORUM = 2;
// Quick enough for a test to see a failover in seconds; production groups use 5-30 s.
const DOWN_AFTER_MS = 1000;
const FAILOVER_TIMEOUT_MS = 10_000;

export interface SentinelGroup {
  /** What pagefleet needs to reach the group: REDIS_SENTINELS and REDIS_SENTINEL_MASTER. */
  env: { REDIS_SENTINELS: string; REDIS_SENTINEL_MASTER: string };
  /** The port of the server the sentinels name as primary now. */
  primaryPort(): Promise<number>;
  /** SIGKILLs the current primary; resolves with its port once it is gone. */
  killPrimary(): Promise<number>;
  /** Asks the sentinels to hand over to the replica while the primary lives (it becomes a replica); resolves with its port. */
  failover(): Promise<number>;
  /** Resolves once the sentinels name a primary other than the one on `port`, with its port. */
  promoted(port: number, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

const ask = <T>(port: number, command: (redis: Redis) => Promise<T>) => askRedis(`redis://127.0.0.1:${port}`, command);

async function startSentinel(
  dir: string,
  index: number,
  primaryPort: number,
): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const conf = path.join(dir, `sentinel-${index}.conf`);
  // Sentinel rewrites its file as it learns the group: each needs one of its own.
  await writeFile(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${primaryPort} ${QUORUM}`,
      `sentinel down-after-milliseconds ${SENTINEL_MASTER} ${DOWN_AFTER_MS}`,
      `sentinel failover-timeout ${SENTINEL_MASTER} ${FAILOVER_TIMEOUT_MS}`,
      `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
      '',
    ].join('\n'),
  );
  const child = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPing(`redis://127.0.0.1:${port}`, child, 10_000);
  return { port, child };
}

/**
 * A Sentinel group on loopback, from Debian's redis-server: a primary, one replica and three
 * sentinels (quorum two), files in `dir`. Resolves once every sentinel knows the replica and the
 * other sentinels, so that a failover can happen.
 */
export async function startSentinelGroup(dir: string): Promise<SentinelGroup> {
  const servers: RedisServer[] = [];
  const sentinels: Array<{ port: number; child: ChildProcess }> = [];
  const stop = async () => {
    const children = [...servers.map((server) => server.child), ...sentinels.map((sentinel) => sentinel.child)];
    await Promise.all(
      children
        .filter((child) => child.exitCode === null && child.signalCode === null)
        .map((child) => {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          return exited;
        }),
    );
  };
  try {
    // Redis 7 holds a replica's first sync 5 s by default (diskless, waiting for more replicas):
    // what the primary acknowledged meanwhile dies with it.
    const replication = ['--repl-diskless-sync-delay', '0'];
    const primary = await startRedisServer(dir, true, undefined, [
      ...replication,
      '--dbfilename',
      'primary.rdb',
      '--appendfilename',
      'primary.aof',
    ]);
    servers.push(primary);
    const primaryPort = Number(new URL(primary.url).port);
    const replica = await startRedisServer(dir, true, undefined, [
      ...replication,
      '--dbfilename',
      'replica.rdb',
      '--appendfilename',
      'replica.aof',
      '--replicaof',
      '127.0.0.1',
      String(primaryPort),
    ]);
    servers.push(replica);
    for (let index = 0; index < SENTINELS; index++) sentinels.push(await startSentinel(dir, index, primaryPort));
    await until('the replica to be in sync', async () =>
      /master_link_status:up/.test(await askRedis(replica.url, (redis) => redis.info('replication')))
        ? true
        : undefined,
    );
    await until('the sentinels to know the replica and each other', async () => {
      const known = await Promise.all(
        sentinels.map(({ port }) =>
          ask(port, async (redis) => {
            const replicas = (await redis.call('SENTINEL', 'REPLICAS', SENTINEL_MASTER)) as unknown[];
            const peers = (await redis.call('SENTINEL', 'SENTINELS', SENTINEL_MASTER)) as unknown[];
            return replicas.length === 1 && peers.length === SENTINELS - 1;
          }).catch(() => false),
        ),
      );
      return known.every(Boolean) || undefined;
    });
  } catch (err) {
    await stop();
    throw err;
  }

  const primaryPort = async () => {
    for (const { port } of sentinels) {
      const reply = await ask(port, (redis) =>
        redis.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER),
      ).catch(() => undefined);
      if (Array.isArray(reply)) return Number(reply[1]);
    }
    throw new Error('no sentinel names a primary');
  };
  return {
    env: {
      REDIS_SENTINELS: sentinels.map(({ port }) => `127.0.0.1:${port}`).join(','),
      REDIS_SENTINEL_MASTER: SENTINEL_MASTER,
    },
    primaryPort,
    async killPrimary() {
      const port = await primaryPort();
      const server = servers.find((each) => Number(new URL(each.url).port) === port);
      if (!server) throw new Error(`no server of this group listens on ${port}`);
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGKILL');
      await exited;
      return port;
    },
    async failover() {
      const port = await primaryPort();
      await ask(sentinels[0]?.port ?? 0, (redis) => redis.call('SENTINEL', 'FAILOVER', SENTINEL_MASTER));
      return port;
    },
    async promoted(port, timeoutMs) {
      return until(
        'the sentinels to promote the replica',
        async () => {
          const now = await primaryPort().catch(() => port);
          return now === port ? undefined : now;
        },
        timeoutMs,
      );
    },
    stop,
  };
}
