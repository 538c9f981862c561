import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startRedis, type TestRedis } from './support/redis.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

describe('processes stop cleanly on SIGTERM', () => {
  let redis: TestRedis;
  let dataDir: string;
  before(async () => {
    redis = await startRedis();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-shutdown-'));
  });
  after(async () => {
    await redis.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  for (const [app, ready] of [
    ['api', 'api listening'],
    ['worker', 'worker started'],
  ] as const) {
    test(`${app}: logs that it started, then exits 0 on SIGTERM`, async () => {
      const child = spawn(process.execPath, [path.join(root, 'apps', app, 'dist', 'main.js')], {
        env: {
          ...process.env,
          REDIS_URL: redis.url,
          DATA_DIR: dataDir,
          PORT: '0',
          WORKER_PORT: '0',
          QUEUE_PREFIX: `shutdown-${app}`,
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${app} did not start: ${output}`)), 30_000);
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes(ready)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0, output);
      assert.match(output, /"msg":"stopped"/);
    });
  }

  test('a bad config value stops the process with the variable named', async () => {
    const child = spawn(process.execPath, [path.join(root, 'apps', 'api', 'dist', 'main.js')], {
      env: { ...process.env, REDIS_URL: redis.url, DATA_DIR: dataDir, MAX_FILES: 'many' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 78);
    assert.match(stderr, /MAX_FILES/);
  });
});
