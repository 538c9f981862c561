// Validates docker-compose.yml, k8s/ and the Dockerfile without an engine or a cluster: schemas
// from registry packages (the Compose specification's, shipped by dclint; Kubernetes', KEDA's and
// the Prometheus Operator's, compiled into kubernetes-models), the manifests as kustomize renders
// them, and a drift check against pagefleet's config schema.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { CONFIG_VARIABLES, loadConfig, parseByteSize } from '@pagefleet/shared';
import { containers, id, readYaml, renderKustomization, type K8sObject } from './support/kustomize.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const OVERLAYS = ['dev', 'prod', 's3'];

/** The module of kubernetes-models that holds the schema of an apiVersion and kind. */
function modelModule({ apiVersion, kind }: K8sObject): string {
  if (apiVersion.startsWith('keda.sh/')) return `@kubernetes-models/keda/${apiVersion}/${kind}`;
  if (apiVersion.startsWith('monitoring.coreos.com/'))
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

async function validateK8s(object: K8sObject): Promise<void> {
  const module = (await import(modelModule(object))) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = module[object.kind];
  assert.ok(Model, `no schema for ${object.apiVersion} ${object.kind}`);
  assert.doesNotThrow(() => new Model(object).validate(), `${id(object)} does not validate`);
}

const labelsMatch = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);
const podLabels = (object: K8sObject) =>
  (object.spec as { template?: { metadata?: { labels?: Record<string, string> } } }).template?.metadata?.labels;
const podSpec = (object: K8sObject) => (object.spec as { template: { spec: Record<string, unknown> } }).template.spec;

/** The environment a container runs with: its ConfigMap and Secret, then its own env. */
function containerEnv(objects: K8sObject[], container: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of (container.envFrom ?? []) as Array<{
    configMapRef?: { name: string };
    secretRef?: { name: string };
  }>) {
    const ref = source.configMapRef ?? source.secretRef;
    const found = objects.find(
      (object) => object.metadata.name === ref?.name && ['ConfigMap', 'Secret'].includes(object.kind),
    );
    Object.assign(env, (found?.data ?? found?.stringData ?? {}) as Record<string, string>);
  }
  for (const entry of (container.env ?? []) as Array<{ name: string; value?: string }>)
    env[entry.name] = entry.value ?? '';
  return env;
}

/** Docker's memory sizes (`512m`, `1g`) are binary, where Kubernetes' `1G` is decimal. */
function dockerBytes(text: string): number {
  const match = /^(\d+)([kmg])?b?$/i.exec(text);
  assert.ok(match, `not a Docker memory size: ${text}`);
  return Number(match[1]) * 1024 ** ' kmg'.indexOf((match[2] ?? ' ').toLowerCase());
}

/** Read by the AWS SDK's default credential chain, not by pagefleet's config. */
const SDK_VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];
const known = (name: string) => CONFIG_VARIABLES.includes(name) || SDK_VARIABLES.includes(name);

/** Variables whose defaults only make sense on one machine: a container must set them. */
const REQUIRED_IN_CONTAINERS = ['REDIS_URL', 'DATA_DIR'];

describe('k8s/: kustomize base and overlays', () => {
  for (const overlay of OVERLAYS) {
    describe(`overlays/${overlay}`, () => {
      let objects: K8sObject[];
      const of = (kind: string) => objects.filter((object) => object.kind === kind);

      test('renders, and every object validates against its Kubernetes, KEDA or Prometheus Operator schema', async () => {
        objects = await renderKustomization(path.join(root, 'k8s', 'overlays', overlay));
        assert.ok(objects.length >= 15, `${objects.length} objects`);
        for (const object of objects) await validateK8s(object);
        const namespace = of('Namespace')[0]?.metadata.name;
        assert.ok(namespace);
        for (const object of objects.filter((object) => object.kind !== 'Namespace')) {
          assert.equal(object.metadata.namespace, namespace, id(object));
        }
      });

      test('api and one worker Deployment per memory tier, each probed, non-root, read-only, with requests = limits for memory', () => {
        const workloads = [...of('Deployment'), ...of('StatefulSet')];
        assert.deepEqual(
          of('Deployment')
            .map((object) => object.metadata.name)
            .sort(),
          ['pagefleet-api', 'pagefleet-worker-1gi', 'pagefleet-worker-4gi', 'pagefleet-worker-paddle'],
        );
        for (const workload of workloads) {
          const pod = podSpec(workload);
          const security = pod.securityContext as { runAsNonRoot?: boolean; runAsUser?: number };
          assert.equal(security.runAsNonRoot, true, id(workload));
          assert.notEqual(security.runAsUser, 0);
          const volumes = new Set(((pod.volumes ?? []) as Array<{ name: string }>).map((volume) => volume.name));
          for (const claim of (workload.spec as { volumeClaimTemplates?: Array<{ metadata: { name: string } }> })
            .volumeClaimTemplates ?? []) {
            volumes.add(claim.metadata.name);
          }
          for (const container of containers(workload)) {
            const context = container.securityContext as Record<string, unknown>;
            assert.equal(context.allowPrivilegeEscalation, false, `${id(workload)} ${container.name}`);
            assert.equal(context.readOnlyRootFilesystem, true, `${id(workload)} ${container.name}`);
            for (const mount of (container.volumeMounts ?? []) as Array<{ name: string }>)
              assert.ok(volumes.has(mount.name), `${id(workload)}: volume ${mount.name}`);
            assert.ok(container.readinessProbe && container.livenessProbe, `${id(workload)} is probed`);
            const resources = container.resources as { requests: { memory: string }; limits: { memory: string } };
            assert.equal(
              resources.requests.memory,
              resources.limits.memory,
              `${id(workload)} memory requests = limits`,
            );
          }
        }
        for (const deployment of of('Deployment')) {
          const probes = containers(deployment).flatMap((container) =>
            [container.livenessProbe, container.readinessProbe].map(
              (probe) => (probe as { httpGet?: { path: string } }).httpGet?.path,
            ),
          );
          assert.deepEqual(probes, ['/health', '/ready'], id(deployment));
        }
        if (overlay === 'prod') {
          assert.deepEqual(
            of('Deployment')
              .flatMap(containers)
              .map((container) => container.image)
              .sort(),
            [
              'registry.example.com/pagefleet/api:0.1.0',
              'registry.example.com/pagefleet/worker:0.1.0',
              'registry.example.com/pagefleet/worker:0.1.0',
              'registry.example.com/pagefleet/worker:0.1.0',
            ],
          );
        }
      });

      test('drift: every variable set exists in the config schema, required ones are set, and the result loads', () => {
        for (const deployment of of('Deployment')) {
          for (const container of containers(deployment)) {
            const env = containerEnv(objects, container);
            const unknown = Object.keys(env).filter((name) => !known(name));
            assert.deepEqual(unknown, [], `${id(deployment)} sets variables the config schema does not read`);
            for (const name of REQUIRED_IN_CONTAINERS) assert.ok(env[name], `${id(deployment)} sets ${name}`);
            const config = loadConfig(env);
            if (!deployment.metadata.name.startsWith('pagefleet-worker')) {
              assert.ok(
                (podSpec(deployment).terminationGracePeriodSeconds as number) * 1000 > config.SHUTDOWN_GRACE_MS,
              );
              continue;
            }
            const memory = (container.resources as { limits: { memory: string } }).limits.memory;
            assert.equal(
              config.WORKER_MEMORY_TIER,
              parseByteSize(memory),
              `${id(deployment)}: WORKER_MEMORY_TIER = its memory limit`,
            );
            const grace = (podSpec(deployment).terminationGracePeriodSeconds as number) * 1000;
            assert.ok(
              grace > config.PAGE_TIMEOUT_MS + config.SHUTDOWN_GRACE_MS,
              `${id(deployment)}: grace ${grace} ms`,
            );
            const port = (container.ports as Array<{ containerPort: number }>)[0]?.containerPort;
            assert.equal(port, config.WORKER_PORT);
          }
        }
        for (const secret of of('Secret')) {
          for (const name of Object.keys(secret.stringData ?? secret.data ?? {})) assert.ok(known(name), name);
        }
      });

      test('selectors, scale targets and scrape targets point at what exists', () => {
        const pods = [...of('Deployment'), ...of('StatefulSet')].map(podLabels);
        for (const object of [...of('Service'), ...of('PodDisruptionBudget')]) {
          const spec = object.spec as { selector: Record<string, string> & { matchLabels?: Record<string, string> } };
          const selector = spec.selector.matchLabels ?? spec.selector;
          assert.ok(
            pods.some((labels) => labelsMatch(selector, labels)),
            `${id(object)} selects no pod`,
          );
        }
        for (const workload of [...of('Deployment'), ...of('StatefulSet')]) {
          const selector = (workload.spec as { selector: { matchLabels: Record<string, string> } }).selector
            .matchLabels;
          assert.ok(labelsMatch(selector, podLabels(workload)), `${id(workload)} selects its own pods`);
        }
        for (const scaled of of('ScaledObject')) {
          const spec = scaled.spec as {
            scaleTargetRef: { name: string };
            triggers: Array<{ metadata: { query: string } }>;
          };
          assert.ok(
            of('Deployment').some((object) => object.metadata.name === spec.scaleTargetRef.name),
            id(scaled),
          );
          assert.match(
            spec.triggers[0]?.metadata.query ?? '',
            // Held pages (the fair share) are delayed jobs: work to scale for.
            /pagefleet_queue_jobs\{queue="pages(-large|-paddle)?",state=~"waiting\|prioritized\|delayed"\}/,
          );
        }
        const monitor = of('ServiceMonitor')[0];
        const wanted =
          (monitor?.spec as { selector: { matchExpressions: Array<{ values: string[] }> } }).selector
            .matchExpressions[0]?.values ?? [];
        for (const name of wanted)
          assert.ok(
            of('Service').some(
              (service) =>
                service.metadata.labels &&
                (service.metadata.labels as Record<string, string>)['app.kubernetes.io/name'] === name,
            ),
            name,
          );
        const pvc = of('PersistentVolumeClaim').find((claim) => claim.metadata.name === 'pagefleet-data');
        const claims = of('Deployment').flatMap((deployment) =>
          ((podSpec(deployment).volumes ?? []) as Array<{ persistentVolumeClaim?: { claimName: string } }>).flatMap(
            (volume) => (volume.persistentVolumeClaim ? [volume.persistentVolumeClaim.claimName] : []),
          ),
        );
        if (overlay === 's3') {
          // API and workers share nothing but Redis and the bucket.
          assert.equal(pvc, undefined);
          assert.deepEqual(claims, []);
          const config = of('ConfigMap').find((map) => map.metadata.name === 'pagefleet-config');
          assert.equal((config?.data as Record<string, string>).STORAGE, 's3');
        } else {
          assert.deepEqual((pvc?.spec as { accessModes: string[] }).accessModes, ['ReadWriteMany']);
          assert.ok(claims.length >= 3 && claims.every((claim) => claim === 'pagefleet-data'));
        }
      });
    });
  }

  test('the HPA alternative validates and targets the base workers', async () => {
    const base = await renderKustomization(path.join(root, 'k8s', 'base'));
    const hpas = (await readYaml(path.join(root, 'k8s', 'alternatives', 'hpa.yaml'))) as K8sObject[];
    assert.equal(hpas.length, 2);
    for (const hpa of hpas) {
      await validateK8s(hpa);
      const target = (hpa.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name;
      assert.ok(
        base.some((object) => object.kind === 'Deployment' && object.metadata.name === target),
        target,
      );
    }
  });
});

/** The parts of a Compose service these tests read. */
interface ComposeService {
  command?: string[];
  healthcheck?: unknown;
  ports?: string[];
  profiles?: string[];
  volumes?: string[];
  environment: Record<string, string>;
  deploy: { replicas: number; resources: { limits: { memory: string } } };
}

describe('docker-compose.yml', () => {
  test('validates against the Compose specification', async () => {
    const file = path.join(path.dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
    // A draft-07 schema whose $schema spells the draft's URL in a way Ajv does not know: Ajv's
    // default draft is draft-07, so the property can go.
    const { $schema: _, ...schema } = JSON.parse(await readFile(file, 'utf8')) as { $schema: string };
    const [compose] = await readYaml(path.join(root, 'docker-compose.yml'));
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    assert.ok(validate(compose), JSON.stringify(validate.errors, null, 2));
  });

  test('Redis persists and never evicts; workers scale by replicas within their tier; Prometheus finds every replica', async () => {
    const [compose] = (await readYaml(path.join(root, 'docker-compose.yml'))) as Array<{
      services: Record<string, ComposeService>;
    }>;
    const { redis, api, worker, prometheus, grafana, 'worker-paddle': paddle } = compose?.services ?? {};
    assert.ok(redis?.command?.join(' ').includes('--appendonly yes'));
    assert.ok(redis?.command?.join(' ').includes('--maxmemory-policy noeviction'));
    assert.ok(redis?.healthcheck);
    assert.deepEqual(api?.ports, ['3000:3000']);
    assert.ok((worker?.deploy.replicas ?? 0) >= 1);
    assert.equal(
      parseByteSize(worker?.environment.WORKER_MEMORY_TIER ?? ''),
      dockerBytes(worker?.deploy.resources.limits.memory ?? ''),
      'tier = memory limit',
    );
    assert.ok(!worker?.ports, 'workers publish no host port: several replicas could not share it');
    assert.deepEqual(grafana?.profiles, ['grafana']);
    for (const service of [prometheus, grafana]) {
      for (const volume of service?.volumes ?? [])
        assert.ok(existsSync(path.join(root, volume.split(':')[0] as string)), volume);
    }
    const [scrape] = (await readYaml(path.join(root, 'deploy', 'compose', 'prometheus.yml'))) as Array<{
      scrape_configs: Array<{ dns_sd_configs: Array<{ names: string[]; port: number }> }>;
    }>;
    const targets = scrape?.scrape_configs.flatMap((job) =>
      job.dns_sd_configs.map((sd) => `${sd.names[0]}:${sd.port}`),
    );
    assert.deepEqual(targets, [
      `api:${api?.environment.PORT}`,
      `worker:${worker?.environment.WORKER_PORT}`,
      `worker-paddle:${paddle?.environment.WORKER_PORT}`,
    ]);
    assert.equal(paddle?.environment.WORKER_QUEUES, 'pages-paddle');
    assert.equal(
      parseByteSize(paddle?.environment.WORKER_MEMORY_TIER ?? ''),
      dockerBytes(paddle?.deploy.resources.limits.memory ?? ''),
      'tier = memory limit',
    );
  });

  test('drift: every variable set exists in the config schema, required ones are set, and the result loads', async () => {
    const [compose] = (await readYaml(path.join(root, 'docker-compose.yml'))) as Array<{
      services: Record<string, { environment?: Record<string, string> }>;
    }>;
    for (const name of ['api', 'worker']) {
      // ${VAR:-default} is whatever the shell gives: unset here, so the default.
      const env = Object.fromEntries(
        Object.entries(compose?.services[name]?.environment ?? {}).map(([key, value]) => [
          key,
          String(value).replace(/^\$\{[A-Z0-9_]+:-(.*)\}$/, '$1'),
        ]),
      );
      assert.deepEqual(
        Object.keys(env).filter((key) => !known(key)),
        [],
        name,
      );
      for (const required of REQUIRED_IN_CONTAINERS) assert.ok(env[required], `${name} sets ${required}`);
      assert.equal(loadConfig(env).STORAGE, 'filesystem', name);
      // The s3 profile's way: STORAGE=s3 from the shell, the bucket and endpoint of its SeaweedFS.
      const s3 = loadConfig({ ...env, STORAGE: 's3' });
      assert.deepEqual(
        [s3.S3_BUCKET, s3.S3_ENDPOINT, s3.S3_FORCE_PATH_STYLE],
        ['pagefleet', 'http://seaweedfs:8333', true],
      );
    }
    const { seaweedfs, 's3-bucket': bucket } = compose?.services ?? {};
    for (const service of [seaweedfs, bucket]) assert.deepEqual((service as ComposeService).profiles, ['s3']);
  });
});

/** .dockerignore's patterns as regular expressions over paths relative to the build context. */
function ignored(patterns: string[], file: string): boolean {
  return patterns.some((pattern) => {
    const body = pattern
      .split('**/')
      .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
      .join('(?:.*/)?');
    return new RegExp(`^${body}(?:/.*)?$`).test(file);
  });
}

describe('Dockerfile', () => {
  test('api and worker targets: non-root, tini, HEALTHCHECK, and every file copied from the context exists and is not ignored', async () => {
    const lines = (await readFile(path.join(root, 'Dockerfile'), 'utf8'))
      .replace(/\\\n/g, ' ')
      .split('\n')
      .filter((line) => line.trim() && !line.startsWith('#'));
    const patterns = (await readFile(path.join(root, '.dockerignore'), 'utf8'))
      .split('\n')
      .filter((line) => line && !line.startsWith('#'));
    const stages = new Map<string, string[]>();
    let current: string[] = [];
    for (const line of lines) {
      const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
      if (from) {
        current = [...(stages.get(from[1] as string) ?? []), line];
        stages.set(from[2] ?? (from[1] as string), current);
        assert.match(from[1] as string, /^(\$\{(?:BUILD|RUNTIME)_IMAGE\}|build|runtime)$/);
        continue;
      }
      current.push(line);
      const copy = /^COPY\s+(?!--from)(.+)\s+\S+$/.exec(line);
      if (!copy) continue;
      for (const source of (copy[1] as string).split(/\s+/)) {
        assert.ok(existsSync(path.join(root, source)), `COPY ${source}: no such file`);
        assert.ok(!ignored(patterns, source), `COPY ${source}: excluded by .dockerignore`);
      }
    }
    for (const target of ['api', 'worker']) {
      const stage = stages.get(target) ?? [];
      const users = stage.filter((line) => line.startsWith('USER '));
      assert.equal(users.at(-1), 'USER node', `${target} runs as node`);
      assert.ok(
        stage.some((line) => line.startsWith('HEALTHCHECK')),
        `${target} HEALTHCHECK`,
      );
      assert.ok(
        stage.some((line) => line.startsWith('ENTRYPOINT ["/usr/bin/tini", "--"]')),
        `${target} runs under tini`,
      );
      assert.ok(stage.some((line) => /poppler-utils/.test(line)));
    }
    assert.ok(
      (stages.get('worker') ?? []).some((line) => /graphicsmagick ghostscript/.test(line)),
      'pdf2pic needs gm and gs',
    );
    for (const target of ['api', 'worker']) {
      assert.ok(
        (stages.get(`${target}-modules`) ?? []).some((line) => /npm prune --omit=dev/.test(line)),
        `${target}: production dependencies only`,
      );
      assert.ok(
        (stages.get(target) ?? []).includes(`COPY --from=${target}-modules /app/node_modules node_modules`),
        `${target}: its own packages`,
      );
    }
    assert.ok(
      ignored(patterns, 'node_modules') &&
        ignored(patterns, 'apps/api/dist') &&
        !ignored(patterns, 'apps/api/src/main.ts'),
    );
  });
});
