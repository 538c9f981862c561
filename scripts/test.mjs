// Runs every test file with node's test runner. Node 20's runner does not expand globs, so the
// files are found here. Tests run over ../shared/corpus when it exists and CORPUS_DIR is unset.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const skip = new Set(['node_modules', 'dist', '.turbo', '.git', 'data']);

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return skip.has(entry.name) ? [] : testFiles(full);
    return entry.name.endsWith('.test.ts') ? [path.relative(root, full)] : [];
  });
}

// Files named on the command line (`npm run test:containers`), else every test file.
const named = process.argv.slice(2);
const files =
  named.length > 0
    ? named
    : ['apps', 'packages', 'scripts', 'test'].flatMap((dir) => testFiles(path.join(root, dir))).sort();
const corpus = path.resolve(root, '..', 'shared', 'corpus');
const env = { ...process.env };
if (!env.CORPUS_DIR && existsSync(corpus)) env.CORPUS_DIR = corpus;

// The container images first, outside the runner's timeout (scripts/build-images.ts). A failed
// build is the containers test's to report.
if (files.some((file) => file.endsWith('containers.test.ts'))) {
  spawnSync(process.execPath, ['--import', 'tsx', path.join('scripts', 'build-images.ts')], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
}

// A test that hangs fails after five minutes (the slowest passes in under two) instead of holding CI.
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-timeout=300000', ...files], {
  cwd: root,
  env,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
