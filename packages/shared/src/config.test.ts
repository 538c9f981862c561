import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from './config.js';

test('defaults apply when nothing is set', () => {
  const config = loadConfig({});
  assert.equal(config.PORT, 3000);
  assert.equal(config.DEFAULT_DPI, 200);
  assert.equal(config.RASTERIZER, 'poppler');
  assert.equal(config.OCR_MODEL, 'fast');
  assert.equal(config.OCR_ENGINE, 'native');
  assert.equal(config.DESKEW, false, 'the native engine has no deskew');
  assert.equal(config.AUTO_ROTATE, true);
  assert.equal(config.DATA_DIR, path.resolve('data'));
  assert.equal(config.WORKER_CONCURRENCY, undefined);
  assert.equal(config.WORKER_MEMORY_TIER, undefined);
  assert.equal(config.OCR_MAX_HEAP, 160 * 2 ** 20);
  assert.ok(Object.isFrozen(config));
});

test('values are coerced from strings and empty strings mean unset', () => {
  const config = loadConfig({ PORT: '8080', MAX_FILES: '', RASTERIZER: 'pdf2pic', DESKEW: '0', AUTO_ROTATE: 'false' });
  assert.equal(config.DESKEW, false);
  assert.equal(config.AUTO_ROTATE, false);
  assert.equal(config.PORT, 8080);
  assert.equal(config.MAX_FILES, 20);
  assert.equal(config.RASTERIZER, 'pdf2pic');
});

test('a bad value is named in the error', () => {
  assert.throws(() => loadConfig({ PORT: 'eighty' }), /PORT/);
  assert.throws(() => loadConfig({ RASTERIZER: 'magick' }), /RASTERIZER/);
  assert.throws(() => loadConfig({ REDIS_URL: 'http://localhost' }), /REDIS_URL/);
  assert.throws(() => loadConfig({ WORKER_CONCURRENCY: '0' }), /WORKER_CONCURRENCY/);
});

test('DEFAULT_DPI may not exceed MAX_DPI', () => {
  assert.throws(
    () => loadConfig({ DEFAULT_DPI: '600', MAX_DPI: '400' }),
    /DEFAULT_DPI \(600\) must not exceed MAX_DPI \(400\)/,
  );
});

test('memory sizes are read like Kubernetes quantities', () => {
  assert.equal(loadConfig({ WORKER_MEMORY_TIER: '512Mi' }).WORKER_MEMORY_TIER, 512 * 2 ** 20);
  assert.equal(loadConfig({ WORKER_MEMORY_TIER: '2Gi' }).WORKER_MEMORY_TIER, 2 * 2 ** 30);
  assert.equal(loadConfig({ WORKER_MEMORY_TIER: '1.5G' }).WORKER_MEMORY_TIER, 1.5e9);
  assert.equal(loadConfig({ OCR_MAX_HEAP: '300000000' }).OCR_MAX_HEAP, 300_000_000);
  assert.throws(() => loadConfig({ WORKER_MEMORY_TIER: 'lots' }), /WORKER_MEMORY_TIER: "lots" is not a memory size/);
  assert.throws(() => loadConfig({ WORKER_MEMORY_TIER: '0Mi' }), /WORKER_MEMORY_TIER/);
  assert.throws(() => loadConfig({ WORKER_MEMORY_TIER: '1Pi' }), /WORKER_MEMORY_TIER/);
});

test('WORKER_QUEUES lists page queues, without repeats', () => {
  assert.deepEqual(loadConfig({ WORKER_QUEUES: 'pages' }).WORKER_QUEUES, ['pages']);
  assert.deepEqual(loadConfig({ WORKER_QUEUES: ' pages-large , pages,pages' }).WORKER_QUEUES, ['pages-large', 'pages']);
  assert.throws(() => loadConfig({ WORKER_QUEUES: 'documents' }), /WORKER_QUEUES: "documents" must list/);
  assert.throws(() => loadConfig({ WORKER_QUEUES: ',' }), /WORKER_QUEUES/);
});

test('LARGE_PAGE_PIXELS may not exceed MAX_PAGE_PIXELS', () => {
  assert.throws(
    () => loadConfig({ LARGE_PAGE_PIXELS: '50000000', MAX_PAGE_PIXELS: '40000000' }),
    /LARGE_PAGE_PIXELS \(50000000\) must not exceed MAX_PAGE_PIXELS/,
  );
});

test('DESKEW follows the engine unless set, and is refused where the engine cannot do it', () => {
  assert.equal(loadConfig({ OCR_ENGINE: 'tesseract.js' }).DESKEW, true);
  assert.equal(loadConfig({ OCR_ENGINE: 'tesseract.js', DESKEW: 'false' }).DESKEW, false);
  assert.equal(loadConfig({ OCR_ENGINE: 'native', DESKEW: 'false' }).DESKEW, false);
  assert.throws(() => loadConfig({ DESKEW: 'true' }), /DESKEW=true needs OCR_ENGINE=tesseract\.js/);
});

test('heartbeats come at least three times a lock: a dead worker is told from a live one by them', () => {
  assert.throws(
    () => loadConfig({ LOCK_DURATION_MS: '2000', HEARTBEAT_INTERVAL_MS: '1000' }),
    /HEARTBEAT_INTERVAL_MS \(1000\) must be at most a third of LOCK_DURATION_MS \(2000\)/,
  );
  assert.equal(loadConfig({ LOCK_DURATION_MS: '3000', HEARTBEAT_INTERVAL_MS: '1000' }).LOCK_DURATION_MS, 3000);
});

test('Redis is reached one way: a URL, a Sentinel group or a cluster', () => {
  const sentinel = loadConfig({
    REDIS_SENTINELS: 'a.example:26379, 10.0.0.2:26380,[::1]:26381',
    REDIS_SENTINEL_MASTER: 'main',
  });
  assert.deepEqual(sentinel.REDIS_SENTINELS, [
    { host: 'a.example', port: 26379 },
    { host: '10.0.0.2', port: 26380 },
    { host: '::1', port: 26381 },
  ]);
  assert.equal(sentinel.REDIS_URL, undefined);
  assert.equal(sentinel.QUEUE_PREFIX, 'pagefleet');
  const cluster = loadConfig({ REDIS_CLUSTER_NODES: 'node-1:6379', REDIS_TLS: 'true', REDIS_PASSWORD: 'secret' });
  assert.equal(cluster.QUEUE_PREFIX, '{pagefleet}', 'a hash tag: every key in one slot');
  assert.throws(
    () => loadConfig({ REDIS_URL: 'redis://r:6379', REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'm' }),
    /REDIS_URL and REDIS_SENTINELS are set: give one way to reach Redis/,
  );
  assert.throws(
    () => loadConfig({ REDIS_SENTINELS: 's:26379', REDIS_CLUSTER_NODES: 'n:6379', REDIS_SENTINEL_MASTER: 'm' }),
    /REDIS_SENTINELS and REDIS_CLUSTER_NODES are set/,
  );
  assert.throws(
    () => loadConfig({ REDIS_SENTINELS: 's:26379' }),
    /REDIS_SENTINEL_MASTER: REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together/,
  );
  assert.throws(
    () => loadConfig({ REDIS_SENTINEL_MASTER: 'm' }),
    /REDIS_SENTINELS: REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together/,
  );
  assert.throws(
    () => loadConfig({ REDIS_SENTINELS: 's', REDIS_SENTINEL_MASTER: 'm' }),
    /REDIS_SENTINELS: "s" must list host:port pairs/,
  );
  assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: 'n:70000' }), /REDIS_CLUSTER_NODES/);
  assert.throws(
    () => loadConfig({ REDIS_PASSWORD: 'secret' }),
    /REDIS_PASSWORD: applies to REDIS_SENTINELS or REDIS_CLUSTER_NODES/,
  );
  assert.throws(() => loadConfig({ REDIS_URL: 'redis://r:6379', REDIS_TLS: 'true' }), /REDIS_TLS/);
});

test('TENANTS: named tenants with keys of their own; a name or a key given twice, or a bad entry, is refused', () => {
  const acme = { name: 'acme', keys: ['acme-key-000000001', 'acme-key-000000002'], documentsPerMinute: 5 };
  const config = loadConfig({ TENANTS: JSON.stringify([acme]), API_KEYS: 'a-bare-key-00000003' });
  assert.deepEqual(config.TENANTS, [acme]);
  const twice = (tenants: unknown[], env: Record<string, string> = {}) =>
    assert.throws(() => loadConfig({ TENANTS: JSON.stringify(tenants), ...env }), /TENANTS/);
  twice([acme, { ...acme, keys: ['another-key-0000004'] }]);
  twice([acme, { name: 'globex', keys: ['acme-key-000000002'] }]);
  twice([acme], { API_KEYS: 'acme-key-000000001' });
  twice([{ name: 'Acme Corp', keys: ['a-valid-key-0000005'] }]);
  twice([{ name: 'acme', keys: ['short'] }]);
  twice([{ name: 'acme', keys: ['a-valid-key-0000005'], documentsPerMinute: 0 }]);
  twice([{ name: 'acme', keys: ['a-valid-key-0000005'], weight: 0 }]);
  twice([{ name: 'acme', keys: ['a-valid-key-0000005'], maxInteractivePages: 0 }]);
  twice([{ name: 'acme', keys: ['a-valid-key-0000005'], priority: 'high' }]);
  assert.throws(() => loadConfig({ TENANTS: '{not json' }), /TENANTS/);
});
