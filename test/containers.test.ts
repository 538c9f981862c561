// The Dockerfile's images built with podman and run as a user runs them: redis-server on the host,
// the API and two workers as containers on the host's network (loopback), each read-only but for
// its /data and /tmp volumes, workers under real memory limits.
import assert from 'node:assert/strict';
import { chownSync, mkdtempSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { parseByteSize, type DocumentState } from '@pagefleet/shared';
import { stringify } from 'yaml';
import { hostileDocuments } from '../scripts/bench/lib/hostile.js';
import { waitReady } from '../scripts/lib/apps.js';
import {
  buildImages,
  IMAGES,
  podman,
  kubePlay,
  podmanProblem,
  runInImage,
  runToEnd,
  sampleMemory,
  startContainer,
  type Container,
} from '../scripts/lib/containers.js';
import { noisePdf, pdfOf, scannedPage, textPdf, wordLines } from '../scripts/lib/fixtures.js';
import { freePort } from '../scripts/lib/redis-server.js';
import { until } from '../scripts/lib/until.js';
import { scrape, valueOf } from './support/prometheus.js';
import { containers as podContainers, id, renderKustomization } from './support/kustomize.js';
import { startRedis, type TestRedis } from './support/redis.js';

const problem = await podmanProblem();
const MiB = 1024 ** 2;
const NODE_UID = 1000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('containers', { skip: problem ?? false }, () => {
  const name = `pagefleet-test-${process.pid}`;
  const dirs: string[] = [];
  const running: Container[] = [];
  const portOf = new Map<Container, number>();
  /** Each container's /tmp on the host. */
  const tmpOf = new Map<Container, string>();
  let redis: TestRedis;
  let dataDir: string;
  let api: Container;
  let url: string;

  /** A folder of the host a container's user (the image's `node`) can write. */
  const folder = (label: string) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), `pagefleet-${label}-`));
    chownSync(dir, NODE_UID, NODE_UID);
    dirs.push(dir);
    return dir;
  };

  function run(app: 'api' | 'worker', label: string, env: Record<string, string>, memory?: string) {
    const tmpDir = folder(`${label}-tmp`);
    const container = startContainer({
      name: `${name}-${label}`,
      image: IMAGES[app],
      env: { REDIS_URL: redis.url, LOG_LEVEL: 'info', ...env },
      dataDir,
      tmpDir,
      ...(memory ? { memory } : {}),
    });
    running.push(container);
    tmpOf.set(container, tmpDir);
    return container;
  }

  async function runWorker(label: string, env: Record<string, string> = {}, memory?: string) {
    const port = await freePort();
    const worker = run('worker', label, { WORKER_PORT: String(port), ...env }, memory);
    portOf.set(worker, port);
    const started = Date.now();
    await waitReady(`http://127.0.0.1:${port}`, 60_000);
    return { worker, port, readySeconds: (Date.now() - started) / 1000 };
  }

  async function submit(file: string, data: Buffer, fields: Record<string, string> = {}) {
    const form = new FormData();
    for (const [key, value] of Object.entries(fields)) form.append(key, value);
    form.append('file', new Blob([data]), file);
    const response = await fetch(`${url}/v1/jobs`, { method: 'POST', body: form });
    assert.equal(response.status, 202, await response.clone().text());
    return ((await response.json()) as { id: string }).id;
  }

  const inMiB = (bytes: number) => (bytes / MiB).toFixed(0);

  const job = async (id: string) => (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as DocumentState;
  const ended = (id: string, timeoutMs = 240_000) =>
    until(
      `document ${id} ends`,
      async () => {
        const doc = await job(id);
        return ['completed', 'partial', 'failed', 'canceled'].includes(doc.status) ? doc : undefined;
      },
      timeoutMs,
    );

  before(
    async () => {
      await buildImages((line) => console.log(`containers: ${line}`));
      redis = await startRedis();
      dataDir = folder('data');
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      const started = Date.now();
      // One client sends the 50 uploads of the last test at once. Its own machine's two CPUs leave
      // some of them unread for seconds, which the slow-upload rule would cut (408).
      api = run(
        'api',
        'api',
        { PORT: String(port), UPLOADS_PER_CLIENT: '64', UPLOAD_MIN_BYTES_PER_SECOND: '0' },
        '256m',
      );
      await waitReady(url, 60_000);
      console.log(`containers: API ready ${((Date.now() - started) / 1000).toFixed(1)} s after podman run`);
    },
    { timeout: 40 * 60_000 },
  );
  after(async () => {
    await Promise.all(running.map((container) => container.remove().catch(() => undefined)));
    await redis?.stop();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  test('the images: no compilers or dev dependencies, the node user, working HEALTHCHECKs', async () => {
    for (const image of Object.values(IMAGES)) {
      const [size, user] = (await podman(['image', 'inspect', '--format', '{{.Size}} {{.User}}', image])).split(' ');
      console.log(`containers: ${image} ${inMiB(Number(size))} MiB`);
      assert.equal(user, 'node', image);
      const found = await runInImage(
        image,
        'ls node_modules node_modules/.bin; for tool in gcc g++ cc make python3 tsc; do command -v $tool; done; true',
      );
      for (const tool of ['typescript', 'eslint', 'prettier', 'tsx', 'turbo', 'tsc', 'gcc', 'make', 'python3']) {
        assert.doesNotMatch(found, new RegExp(`(^|/)${tool}$`, 'm'), `${image} holds ${tool}`);
      }
    }
    assert.equal(await podman(['healthcheck', 'run', api.name]), '');
  });

  test('as with npm start, a bad variable stops an image at once with EX_CONFIG, naming it', async () => {
    for (const image of Object.values(IMAGES)) {
      const { code, output } = await runToEnd(image, { REDIS_URL: redis.url, LOG_LEVEL: 'loud' });
      assert.equal(code, 78, output);
      assert.match(output, /LOG_LEVEL/, image);
    }
  });

  test('a scanned PDF, a born-digital PDF and an image complete with every output; workers run as node, reap their children, write only to their volumes', async () => {
    const workers = await Promise.all([runWorker('worker-a', { SHUTDOWN_GRACE_MS: '500' }), runWorker('worker-b')]);
    console.log(
      `containers: workers ready ${workers.map((w) => w.readySeconds.toFixed(1)).join(' s, ')} s after podman run`,
    );
    const outputs = 'text,json,hocr,tsv,pdf,image';
    const ids = await Promise.all([
      submit('scan.pdf', await pdfOf([await scannedPage(1), await scannedPage(2)]), { outputs }),
      submit('digital.pdf', textPdf(wordLines(3, 12)), { outputs }),
      submit('photo.jpg', await scannedPage(4), { outputs }),
    ]);
    for (const id of ids) {
      const doc = await ended(id);
      assert.equal(doc.status, 'completed', JSON.stringify(doc));
      for (const link of [`/v1/jobs/${id}/text`, `/v1/jobs/${id}/result`, `/v1/jobs/${id}/pdf`]) {
        const response = await fetch(`${url}${link}`);
        assert.equal(response.status, 200, link);
        assert.ok((await response.arrayBuffer()).byteLength > 100, link);
      }
      for (let page = 1; page <= doc.pageCount; page++) {
        for (const format of ['hocr', 'tsv', 'pdf', 'image']) {
          const response = await fetch(`${url}/v1/jobs/${id}/pages/${page}?format=${format}`);
          assert.equal(response.status, 200, `${id} page ${page} ${format}`);
        }
      }
    }
    const text = await (await fetch(`${url}/v1/jobs/${ids[1]}/text`)).text();
    assert.ok(text.includes(wordLines(3, 12)[0] as string), text);

    for (const { worker } of workers) {
      assert.equal(await podman(['healthcheck', 'run', worker.name]), '');
      const processes = (await podman(['top', worker.name, 'user', 'state', 'comm']))
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/));
      assert.ok(processes.length >= 2, 'tini and node');
      for (const [user, state, command] of processes) {
        assert.equal(user, 'node', `${command} runs as ${user}`);
        assert.notEqual(state, 'Z', `${command} is a zombie`);
      }
    }
    for (const container of [api, ...workers.map((w) => w.worker)]) {
      // --read-only: a write outside /data and /tmp fails; podman itself writes /etc's hosts files.
      const changes = (await podman(['diff', container.name])).split('\n').filter(Boolean);
      assert.deepEqual(
        changes.filter(
          (line) => !/^[AC] \/etc(\/(hosts|hostname|resolv\.conf))?$/.test(line) && !/^[AC] \/run/.test(line),
        ),
        [],
        container.name,
      );
    }
  });

  test('SIGTERM to a worker mid-document hands its page back; the document completes on the other', async () => {
    const [a, b] = running.filter((container) => container.name.includes('worker-'));
    assert.ok(a && b);
    const id = await submit('eight.pdf', await pdfOf(await Promise.all([5, 6, 7, 8, 9, 10, 11, 12].map(scannedPage))));
    const probe = `http://127.0.0.1:${portOf.get(a)}`;
    await until('worker-a busy on the document', async () => {
      const busy = valueOf(await scrape(probe), 'pagefleet_worker_busy_slots', { queue: 'pages' });
      return busy > 0 ? true : undefined;
    });
    await a.signal('SIGTERM');
    assert.equal(await a.exited, 0);
    const stopped = a.logs.find((line) => line.msg === 'stopped');
    assert.ok(Number(stopped?.handedBack) >= 1, `worker-a handed its page back: ${JSON.stringify(stopped)}`);
    const doc = await ended(id);
    assert.equal(doc.status, 'completed');
    assert.equal(doc.pagesDone, 8);
    await b.stop();
    assert.equal(await b.exited, 0);
    // What a worker writes to /tmp (rendered pages, Tesseract's folders) is gone once it has stopped.
    for (const worker of [a, b]) assert.deepEqual(await readdir(tmpOf.get(worker) ?? ''), [], worker.name);
  });

  test(
    'workers under 512 MB and 256 MB read hostile pages, four documents at once, without an OOM kill',
    { timeout: 12 * 60_000 },
    async () => {
      const big = await runWorker('worker-512', {}, '512m');
      const small = await runWorker('worker-256', {}, '256m');
      for (const [{ worker }, limit] of [
        [big, 512],
        [small, 256],
      ] as const) {
        const plan = await worker.waitForLog((line) => line.msg === 'capacity planned');
        console.log(
          `containers: ${worker.name} planned ${JSON.stringify(plan.queues)} from ${String(plan.budgetSource)}`,
        );
        assert.equal(plan.budgetMiB, limit);
        assert.match(String(plan.budgetSource), /^cgroup v[12]$/);
      }
      const ids = await Promise.all(
        (await hostileDocuments()).map(({ name, data, fields }) => submit(name, data, fields)),
      );
      const workers = [big.worker, small.worker];
      const samplers = workers.map(sampleMemory);
      const docs = await until(
        'the hostile documents end',
        async () => {
          // A worker gone (OOM-killed: exit 137) fails the test at once.
          for (const worker of workers) {
            if (worker.child.exitCode === null) continue;
            const killed = (await worker.oomKilled()) ? ', OOM-killed' : '';
            throw new Error(`${worker.name} exited ${worker.child.exitCode}${killed}`);
          }
          const states = await Promise.all(ids.map(job));
          return states.every((doc) => doc.status !== 'queued' && doc.status !== 'processing') ? states : undefined;
        },
        10 * 60_000,
      );
      for (const [i, worker] of workers.entries()) {
        const { peakBytes, anonBytes } = samplers[i]?.() ?? { peakBytes: 0, anonBytes: 0 };
        const pages = worker.logs.filter((line) => line.msg === 'page completed').length;
        console.log(
          `containers: ${worker.name} read ${pages} pages; cgroup high-water mark ${inMiB(peakBytes)} MiB, anonymous memory at most ${inMiB(anonBytes)} MiB`,
        );
        assert.ok(pages > 0, `${worker.name} read pages`);
      }
      for (const doc of docs) assert.equal(doc.status, 'completed', JSON.stringify(doc));
    },
  );

  test('the API under 256 MB takes 50 uploads of 17 MB at once', async () => {
    const upload = await noisePdf();
    assert.ok(upload.length > 16 * MiB, `${upload.length} bytes`);
    const sampled = sampleMemory(api);
    const answers = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const form = new FormData();
        form.append('file', new Blob([upload]), `upload-${i}.pdf`);
        // A request that got no answer says why (undici's cause: a reset, a timeout), not just "fetch failed".
        return fetch(`${url}/v1/jobs`, { method: 'POST', body: form }).then(
          (response) => response.status,
          (err: Error) => `${err.message}: ${String((err.cause as Error | undefined)?.message ?? err.cause)}`,
        );
      }),
    );
    const { peakBytes, anonBytes } = sampled();
    console.log(
      `containers: API, 50 uploads of ${(upload.length / MiB).toFixed(1)} MiB at once: cgroup high-water mark ${inMiB(peakBytes)} MiB of 256, anonymous memory at most ${inMiB(anonBytes)} MiB`,
    );
    assert.equal(api.child.exitCode, null, 'the API is alive');
    assert.deepEqual([...new Set(answers)], [202]);
    // SIGTERM (podman stop), as Ctrl-C on npm start: the API drains and exits 0.
    await api.stop();
    assert.equal(await api.exited, 0);
  });

  test('the k8s Deployments under podman kube play: limits, read-only root, uid 1000, a document completes', async () => {
    const [apiPort, workerPort] = [await freePort(), await freePort()];
    const suffix = String(process.pid);
    const wanted = ['ConfigMap/pagefleet-config', 'PersistentVolumeClaim/pagefleet-data', 'Deployment/pagefleet-api'];
    wanted.push('Deployment/pagefleet-worker-1gi');
    const objects = (await renderKustomization(path.join(root, 'k8s/overlays/dev'))).filter((object) =>
      wanted.includes(id(object)),
    );
    assert.equal(objects.length, wanted.length);
    for (const object of objects) {
      delete object.metadata.namespace;
      object.metadata.name = `${object.metadata.name}-${suffix}`;
      if (object.kind === 'ConfigMap') {
        Object.assign(object.data as Record<string, string>, {
          REDIS_URL: redis.url,
          QUEUE_PREFIX: `kube-${suffix}`,
          PORT: String(apiPort),
          WORKER_PORT: String(workerPort),
          LOG_LEVEL: 'info',
        });
      }
      if (object.kind !== 'Deployment') continue;
      const pod = (object.spec as { template: { spec: Record<string, unknown> } }).template.spec;
      for (const volume of pod.volumes as Array<{ persistentVolumeClaim?: { claimName: string } }>) {
        if (volume.persistentVolumeClaim) volume.persistentVolumeClaim.claimName += `-${suffix}`;
      }
      for (const container of podContainers(object)) {
        for (const from of container.envFrom as Array<{ configMapRef?: { name: string } }>) {
          if (from.configMapRef) from.configMapRef.name += `-${suffix}`;
        }
        const worker = container.name === 'worker';
        container.image = worker ? IMAGES.worker : IMAGES.api;
        // On the host's network a pod maps no ports: its probes name the port itself.
        delete container.ports;
        for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
          const httpGet = (container[probe] as { httpGet?: { port: unknown } } | undefined)?.httpGet;
          if (httpGet) httpGet.port = worker ? workerPort : apiPort;
        }
      }
    }
    const dir = folder('kube');
    const played = await kubePlay(objects.map((object) => stringify(object)).join('---\n'), dir);
    try {
      const kubeUrl = `http://127.0.0.1:${apiPort}`;
      await Promise.all([waitReady(kubeUrl, 60_000), waitReady(`http://127.0.0.1:${workerPort}`, 60_000)]);
      for (const object of objects.filter((each) => each.kind === 'Deployment')) {
        for (const container of podContainers(object)) {
          const name = `${object.metadata.name}-pod-0-${container.name}`;
          const [memory, readOnly, user] = (
            await podman([
              'inspect',
              '--format',
              '{{.HostConfig.Memory}} {{.HostConfig.ReadonlyRootfs}} {{.Config.User}}',
              name,
            ])
          ).split(' ');
          const limit = (container.resources as { limits: { memory: string } }).limits.memory;
          assert.equal(Number(memory), parseByteSize(limit), `${name} memory limit`);
          assert.equal(readOnly, 'true', name);
          assert.equal(user, '1000:1000', name);
        }
      }
      const form = new FormData();
      form.append('file', new Blob([await scannedPage(21)]), 'scan.jpg');
      const response = await fetch(`${kubeUrl}/v1/jobs`, { method: 'POST', body: form });
      assert.equal(response.status, 202);
      const { id: job } = (await response.json()) as { id: string };
      const doc = await until(
        'the document ends',
        async () => {
          const state = (await (await fetch(`${kubeUrl}/v1/jobs/${job}`)).json()) as DocumentState;
          return state.status === 'processing' || state.status === 'queued' ? undefined : state;
        },
        120_000,
      );
      assert.equal(doc.status, 'completed');
    } finally {
      await played.down();
      await podman(['volume', 'rm', '--force', `pagefleet-data-${suffix}`]);
    }
  });
});
