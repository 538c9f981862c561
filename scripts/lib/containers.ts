// Podman as the container tests and benchmarks use it: the Dockerfile's images built (on a base
// made from Debian's packages where the registry's cannot be pulled), and containers run on the
// host's network, read-only but for their volumes, under real memory limits.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { watchProcess, type AppProcess } from './apps.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const exec = promisify(execFile);

/** The Dockerfile's default base. */
const REGISTRY_BASE = 'docker.io/library/node:24-trixie-slim';
/**
 * Bases made from Debian's packages: what the registry's gives the Dockerfile (Node, npm to build,
 * a `node` user of uid 1000, apt), slim as Debian's own slim images are (no manuals, translations
 * or documentation but copyrights; the rule stays in the image for what the Dockerfile installs).
 * The build base trusts the host's certificate authorities: npm reaches the registry through the
 * host's network.
 */
const SLIM = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/locale/*',
  'path-include=/usr/share/locale/locale.alias',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/info/*',
];
const LOCAL_BASES = {
  build: { name: 'trixie-build', packages: ['nodejs', 'npm', 'ca-certificates'], hostAuthorities: true },
  runtime: { name: 'trixie', packages: ['nodejs', 'ca-certificates'], hostAuthorities: false },
} as const;
type BaseRecipe = (typeof LOCAL_BASES)[keyof typeof LOCAL_BASES];
const HOST_AUTHORITIES = '/usr/local/share/ca-certificates';

/** mmdebstrap's arguments for a base, but for its output. */
function recipe(base: BaseRecipe): string[] {
  const hooks = ['chroot "$1" useradd --uid 1000 --user-group --create-home --shell /bin/bash node'];
  const authorities = existsSync(HOST_AUTHORITIES) ? readdirSync(HOST_AUTHORITIES) : [];
  if (base.hostAuthorities && authorities.length > 0) {
    hooks.push(`cp ${HOST_AUTHORITIES}/* "$1${HOST_AUTHORITIES}/"`, 'chroot "$1" update-ca-certificates');
  }
  return [
    '--variant=minbase',
    `--include=${base.packages.join(',')}`,
    ...SLIM.map((rule) => `--dpkgopt=${rule}`),
    ...hooks.map((hook) => `--customize-hook=${hook}`),
    'trixie',
  ];
}

/** A base's image name: its tag follows its recipe, so a changed recipe makes a new base. */
function baseImage(base: BaseRecipe): string {
  const digest = createHash('sha256')
    .update(JSON.stringify(recipe(base)))
    .digest('hex')
    .slice(0, 12);
  return `localhost/pagefleet/node:${base.name}-${digest}`;
}

export const IMAGES = { api: 'localhost/pagefleet/api:test', worker: 'localhost/pagefleet/worker:test' } as const;

export async function podman(args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await exec('podman', args, { maxBuffer: 64 * 1024 ** 2, timeout: timeoutMs });
  return stdout.trim();
}

const onPath = (command: string) =>
  (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, command)));

/** File and process limits for containers: at or below this process' hard limits, which a container may not raise. */
function ulimits(): { files: number; processes: number } {
  const hard = spawnSync('sh', ['-c', 'ulimit -Hn; ulimit -Hu'], { encoding: 'utf8' }).stdout.split('\n');
  const limit = (value: string | undefined, most: number) =>
    value === 'unlimited' || !Number(value) ? most : Math.min(Number(value), most);
  return { files: limit(hard[0], 65_536), processes: limit(hard[1], 4096) };
}
/** Options every container runs with here: the host's network (loopback only), and `ulimits`. */
function runOptions(): string[] {
  const { files, processes } = ulimits();
  return ['--network', 'host', '--ulimit', `nofile=${files}:${files}`, '--ulimit', `nproc=${processes}:${processes}`];
}
// crun refuses hybrid cgroup layouts (cgroup v1 for memory beside v2).
const RUNTIME = ['--runtime', 'runc'];

/** Why this machine cannot build and run the images, or undefined where it can. */
export async function podmanProblem(): Promise<string | undefined> {
  if (!onPath('podman')) return 'podman is not installed (apt-get install podman buildah runc mmdebstrap)';
  try {
    await podman([...RUNTIME, 'info'], 30_000);
  } catch (error) {
    return `podman cannot run here: ${(error as Error).message.split('\n')[0] ?? ''}`;
  }
  return undefined;
}

async function imageExists(image: string): Promise<boolean> {
  return exec('podman', ['image', 'exists', image]).then(
    () => true,
    () => false,
  );
}

/** Makes one base with mmdebstrap (Debian 13, as the registry's) and imports it. */
async function makeBase(base: BaseRecipe, log: Logger): Promise<void> {
  if (!onPath('mmdebstrap')) throw new Error(`the registry cannot be reached and mmdebstrap is not installed`);
  const tarball = path.join(os.tmpdir(), `pagefleet-base-${process.pid}.tar`);
  const image = baseImage(base);
  log(`making ${image} from Debian's packages (${base.packages.join(', ')})`);
  try {
    await exec('mmdebstrap', [...recipe(base), tarball], { maxBuffer: 64 * 1024 ** 2, timeout: 600_000 });
    await podman(['import', '--change', 'CMD ["node"]', tarball, image], 300_000);
  } finally {
    await rm(tarball, { force: true });
  }
}

type Logger = (line: string) => void;

/** The bases the Dockerfile builds on: the registry's where it can be pulled, else made here (once). */
async function baseImages(log: Logger): Promise<{ build: string; runtime: string }> {
  if (await imageExists(REGISTRY_BASE)) return { build: REGISTRY_BASE, runtime: REGISTRY_BASE };
  const pulled = await podman(['pull', '--quiet', REGISTRY_BASE], 300_000).then(
    () => true,
    (error: Error) => (log(`${REGISTRY_BASE} cannot be pulled: ${error.message.split('\n')[0] ?? ''}`), false),
  );
  if (pulled) return { build: REGISTRY_BASE, runtime: REGISTRY_BASE };
  for (const base of Object.values(LOCAL_BASES)) if (!(await imageExists(baseImage(base)))) await makeBase(base, log);
  return { build: baseImage(LOCAL_BASES.build), runtime: baseImage(LOCAL_BASES.runtime) };
}

/**
 * Builds both targets of the Dockerfile (podman reuses the layers of a previous build). `--format
 * docker` keeps the HEALTHCHECKs, which OCI images cannot hold.
 */
export async function buildImages(log: Logger): Promise<void> {
  const bases = await baseImages(log);
  for (const [target, image] of Object.entries(IMAGES)) {
    const started = Date.now();
    await podman(
      [
        'build',
        '--isolation',
        'chroot',
        '--network',
        'host',
        '--format',
        'docker',
        '--build-arg',
        `BUILD_IMAGE=${bases.build}`,
        '--build-arg',
        `RUNTIME_IMAGE=${bases.runtime}`,
        '--target',
        target,
        '--tag',
        image,
        root,
      ],
      1_200_000,
    );
    log(`built ${image} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}

/**
 * `podman kube play` of the given objects on the host's network; its containers get the limits
 * and runtime of `runOptions` from a containers.conf of their own (kube play takes no --ulimit).
 * Returns what `podman kube down` needs.
 */
export async function kubePlay(yamlText: string, dir: string): Promise<{ down(): Promise<void> }> {
  const { files, processes } = ulimits();
  const conf = path.join(dir, 'containers.conf');
  const limits = `"nofile=${files}:${files}", "nproc=${processes}:${processes}"`;
  await writeFile(conf, `[containers]\ndefault_ulimits = [${limits}]\n[engine]\nruntime = "runc"\n`);
  const file = path.join(dir, 'kube.yaml');
  await writeFile(file, yamlText);
  const env = { ...process.env, CONTAINERS_CONF: conf };
  await exec('podman', ['kube', 'play', '--network', 'host', file], { env, timeout: 300_000 });
  return {
    async down() {
      await exec('podman', ['kube', 'down', file], { env, timeout: 120_000 });
    },
  };
}

/** Runs `image` as it starts (entrypoint and command) to its end; returns its exit code and output. */
export async function runToEnd(image: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  const args = [...RUNTIME, 'run', '--rm', ...runOptions(), '--no-healthcheck'];
  for (const [name, value] of Object.entries(env)) args.push('--env', `${name}=${value}`);
  return exec('podman', [...args, image], { timeout: 120_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code ?? -1,
      output: (error.stdout ?? '') + (error.stderr ?? ''),
    }),
  );
}

/** Runs a shell command in a new container of `image` (its entrypoint skipped) and returns its output. */
export function runInImage(image: string, command: string): Promise<string> {
  return podman([
    ...RUNTIME,
    'run',
    '--rm',
    ...runOptions(),
    '--no-healthcheck',
    '--entrypoint',
    'sh',
    image,
    '-c',
    command,
  ]);
}

export interface ContainerOptions {
  name: string;
  image: string;
  env: Record<string, string>;
  /** Host folders mounted at /data and /tmp: the only places a container can write. */
  dataDir: string;
  tmpDir: string;
  /** A memory limit (`512m`), swap included: the kernel kills the container past it. */
  memory?: string;
  logFile?: string;
}

export interface Container extends AppProcess {
  name: string;
  /**
   * Its cgroup's memory now: the high-water mark it has recorded (page cache included: a container
   * that writes files reaches its limit, and the kernel reclaims cache rather than kill), and its
   * processes' anonymous memory (what a kill is about).
   */
  memory(): Promise<{ peakBytes: number; anonBytes: number }>;
  /** Whether the kernel killed it for memory (read once it has exited). */
  oomKilled(): Promise<boolean>;
  /** Sends a signal to its first process (tini, which passes it on). */
  signal(name: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Removes it, running or not. */
  remove(): Promise<void>;
}

const started = new Set<string>();
// A test that fails midway must not leave containers behind.
process.once('exit', () => {
  if (started.size > 0) spawnSync('podman', ['rm', '--force', '--time', '0', ...started]);
});

/** Runs an image in the foreground of a `podman run` child, its logs read like an app's. */
export function startContainer(options: ContainerOptions): Container {
  const env = Object.entries(options.env).flatMap(([name, value]) => ['--env', `${name}=${value}`]);
  const limit = options.memory ? ['--memory', options.memory, '--memory-swap', options.memory] : [];
  const child = spawn(
    'podman',
    [
      ...RUNTIME,
      'run',
      '--name',
      options.name,
      ...runOptions(),
      '--read-only',
      '--volume',
      `${options.dataDir}:/data`,
      '--volume',
      `${options.tmpDir}:/tmp`,
      ...limit,
      ...env,
      options.image,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  started.add(options.name);
  const app = watchProcess(child, options.name, options.logFile);
  if (!options.logFile) child.stderr?.pipe(process.stderr);
  const inspect = (format: string) => podman(['inspect', '--format', format, options.name]);
  return {
    ...app,
    name: options.name,
    async memory() {
      const cgroup = await inspect('{{.State.CgroupPath}}');
      const v1 = path.join('/sys/fs/cgroup/memory', cgroup);
      const v2 = path.join('/sys/fs/cgroup', cgroup);
      const isV1 = existsSync(path.join(v1, 'memory.stat'));
      const stat = new Map(
        (await readFile(path.join(isV1 ? v1 : v2, 'memory.stat'), 'utf8'))
          .trim()
          .split('\n')
          .map((line) => line.split(' ') as [string, string]),
      );
      const peak = await readFile(
        isV1 ? path.join(v1, 'memory.max_usage_in_bytes') : path.join(v2, 'memory.peak'),
        'utf8',
      );
      return { peakBytes: Number(peak), anonBytes: Number(stat.get(isV1 ? 'total_rss' : 'anon')) };
    },
    async oomKilled() {
      return (await inspect('{{.State.OOMKilled}}')) === 'true';
    },
    async signal(name) {
      await podman(['kill', '--signal', name, options.name]);
    },
    async stop() {
      if (child.exitCode !== null) return;
      await podman(['stop', '--time', '30', options.name]);
      await app.exited;
    },
    async remove() {
      await podman(['rm', '--force', '--time', '0', options.name]);
      started.delete(options.name);
    },
  };
}

/** Samples a container's memory every 200 ms until the returned function is called; it returns the highest figures seen. */
export function sampleMemory(container: Container): () => { peakBytes: number; anonBytes: number } {
  const most = { peakBytes: 0, anonBytes: 0 };
  const timer = setInterval(() => {
    container.memory().then(
      (now) => {
        most.peakBytes = Math.max(most.peakBytes, now.peakBytes);
        most.anonBytes = Math.max(most.anonBytes, now.anonBytes);
      },
      // Gone between two samples: its last figures stand.
      () => undefined,
    );
  }, 200);
  return () => {
    clearInterval(timer);
    return most;
  };
}
