import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { askRedis, startRedisServer, type RedisServer } from './redis-server.js';
import { until } from './until.js';

const PRIMARIES = 3;

export interface RedisCluster {
  /** What pagefleet needs to reach it: REDIS_CLUSTER_NODES. */
  env: { REDIS_CLUSTER_NODES: string };
  stop(): Promise<void>;
}

const clusterState = (url: string) =>
  askRedis(url, async (redis) => /cluster_state:(\w+)/.exec(await redis.cluster('INFO'))?.[1]).catch(() => undefined);

/**
 * A Redis Cluster of three primaries on loopback, from Debian's redis-server and redis-cli
 * (`--cluster create`), each node's files under `dir`. Resolves once every node says the cluster
 * is ok (all 16384 slots served).
 */
export async function startRedisCluster(dir: string): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let index = 0; index < PRIMARIES; index++) {
      const nodeDir = path.join(dir, `node-${index}`);
      await mkdir(nodeDir, { recursive: true });
      nodes.push(
        await startRedisServer(nodeDir, false, undefined, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          path.join(nodeDir, 'nodes.conf'),
        ]),
      );
    }
    const addresses = nodes.map((node) => new URL(node.url).host);
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8' },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await until('the cluster to be ok', async () => {
      const states = await Promise.all(nodes.map((node) => clusterState(node.url)));
      return states.every((state) => state === 'ok') || undefined;
    });
    return { env: { REDIS_CLUSTER_NODES: addresses.join(',') }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
