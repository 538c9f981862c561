// Set-up for `npm start` and `npm test` on a fresh Debian/Ubuntu machine: system packages
// (installed with apt-get when missing and possible), npm dependencies, then the build.
// Plain JavaScript on purpose: it runs before any npm dependency, TypeScript included, exists.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
// start: the service; test: also what tests and benchmarks use.
const mode = process.argv[2] === 'test' ? 'test' : 'start';

const onPath = (command) =>
  (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, command)));

/** What the service needs from the system; `optional` ones only widen what tests cover. */
const needs = [
  { pkg: 'poppler-utils', present: () => onPath('pdfinfo') && onPath('pdftoppm') && onPath('pdftotext') },
  // Copies a page read from its text layer out of its PDF, with only the resources it uses.
  { pkg: 'qpdf', present: () => onPath('qpdf') },
  // A local redis-server is started when no Redis is given; tests start their own, Sentinel and
  // cluster included (redis-cli sets up the cluster).
  {
    pkg: 'redis-server',
    present: () =>
      (mode === 'start' && ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'].some((name) => process.env[name])) ||
      (onPath('redis-server') && onPath('redis-cli')),
  },
  // Tesseract's command (OCR_ENGINE=native) with the fast English model; without them workers read
  // with tesseract.js and npm's best_int model.
  { pkg: 'tesseract-ocr', present: () => onPath('tesseract'), optional: true },
  {
    pkg: 'tesseract-ocr-eng',
    present: () => existsSync('/usr/share/tesseract-ocr/5/tessdata/eng.traineddata'),
    optional: true,
  },
];
if (mode !== 'start') {
  needs.push(
    // Test fixtures are text rendered in DejaVu Serif.
    { pkg: 'fonts-dejavu-core', present: () => existsSync('/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf') },
    // The pdf2pic rasterizer's engines; its test is skipped without them.
    { pkg: 'graphicsmagick', present: () => onPath('gm'), optional: true },
    { pkg: 'ghostscript', present: () => onPath('gs'), optional: true },
    // The web page's end-to-end test drives it; skipped without a browser.
    { pkg: 'chromium', present: () => Boolean(process.env.CHROMIUM_PATH) || onPath('chromium'), optional: true },
    // The container tests build the images and run them (runc: crun refuses hybrid cgroup layouts);
    // mmdebstrap makes their base from Debian's packages where the registry's cannot be pulled.
    { pkg: 'podman', present: () => onPath('podman'), optional: true },
    { pkg: 'runc', present: () => onPath('runc'), optional: true },
    { pkg: 'mmdebstrap', present: () => onPath('mmdebstrap'), optional: true },
    // `podman kube play` builds its pods' pause image around catatonit (a fresh machine lacks it).
    {
      pkg: 'catatonit',
      present: () => onPath('catatonit') || existsSync('/usr/libexec/podman/catatonit'),
      optional: true,
    },
  );
}

function run(command, args, options = {}) {
  console.log(`setup: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  return result.status === 0;
}

function installSystemPackages() {
  const missing = needs.filter((need) => !need.present());
  if (missing.length === 0) return;
  const packages = missing.map((need) => need.pkg);
  const isRoot = process.getuid?.() === 0;
  const sudo = !isRoot && onPath('sudo') && spawnSync('sudo', ['-n', 'true']).status === 0;
  if (onPath('apt-get') && (isRoot || sudo)) {
    const apt = (args) =>
      isRoot
        ? run('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
        : run('sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args]);
    if (apt(['update', '-qq']) && apt(['install', '-y', '-qq', '--no-install-recommends', ...packages])) return;
  }
  const required = missing.filter((need) => !need.optional && !need.present());
  const message = `missing system packages: ${packages.join(' ')}; install them with: sudo apt-get install ${packages.join(' ')}`;
  if (required.length > 0) {
    console.error(`setup: ${message}`);
    process.exit(1);
  }
  console.warn(`setup: ${message} (optional: some tests will be skipped)`);
}

function mtime(file) {
  return existsSync(file) ? statSync(file).mtimeMs : 0;
}

function installNodeModules() {
  // npm writes node_modules/.package-lock.json on every install: older than the lockfile means stale.
  const installed = mtime(path.join(root, 'node_modules', '.package-lock.json'));
  if (installed > 0 && installed >= mtime(path.join(root, 'package-lock.json'))) return;
  if (!run('npm', ['ci', '--no-audit', '--no-fund'])) process.exit(1);
}

installSystemPackages();
installNodeModules();
if (!run('npm', ['run', 'build'], { env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } })) process.exit(1);
