import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runTool } from '@pagefleet/shared';
import { cer, pdfOf, textPage } from '../scripts/lib/fixtures.js';
import { layeredPdf } from '../scripts/lib/text-pdfs.js';
import { startStack, type Stack } from './support/stack.js';

const CLI = path.resolve('packages/cli/bin/pagefleet.js');
const KEY = 'a-cli-key-of-sixteen-chars';
const LINES = [
  ['Command lines are doors too.', 'Every page gets a progress tick.'],
  ['The second page of the letter.', 'Signed by the night clerk.'],
];

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** The installed command, as a user runs it: its own process, the server from the environment. */
function pagefleet(args: string[], env: Record<string, string>): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env } },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('pagefleet CLI against the real stack', () => {
  let stack: Stack;
  let dir: string;
  let env: Record<string, string>;
  let letter: string;
  before(async () => {
    stack = await startStack({ API_KEYS: KEY, ADMIN_API_KEYS: KEY });
    await stack.startWorker();
    env = { PAGEFLEET_URL: stack.url, PAGEFLEET_API_KEY: KEY };
    dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-cli-'));
    letter = path.join(dir, 'letter.pdf');
    await writeFile(letter, await pdfOf(await Promise.all(LINES.map(textPage))));
  });
  after(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('submit --wait shows pages done over total from the event stream, then prints the text', async () => {
    const ran = await pagefleet(['submit', letter, '--wait'], env);
    assert.equal(ran.code, 0, ran.stderr);
    assert.ok(cer(LINES.flat().join('\n'), ran.stdout) < 0.05, ran.stdout);
    const bars = ran.stderr.split('\n').filter((line) => line.startsWith('['));
    assert.match(bars[0] ?? '', /^\[-+\] 0\/2 pages$/);
    assert.match(bars.at(-1) ?? '', /^\[#+\] 2\/2 pages$/);
    assert.match(ran.stderr, /job [0-9a-f-]{36} completed/);
  });

  test('submit --output pdf --out writes the searchable PDF', async () => {
    const out = path.join(dir, 'letter-ocr.pdf');
    const ran = await pagefleet(
      ['submit', letter, '--wait', '--output', 'pdf', '--out', out, '--languages', 'eng', '--dpi', '200'],
      env,
    );
    assert.equal(ran.code, 0, ran.stderr);
    const info = (await runTool('pdfinfo', ['--', out], { timeoutMs: 10_000, maxBytes: 2 ** 20 })).toString();
    assert.match(info, /^Pages:\s+2$/m);
    const text = (await runTool('pdftotext', ['--', out, '-'], { timeoutMs: 10_000, maxBytes: 2 ** 20 })).toString();
    assert.match(text, /night clerk/);
  });

  test('submit --pages and --force-ocr reach the server: the page asked for, numbered as in the file, read as told', async () => {
    const born = path.join(dir, 'born-digital.pdf');
    await writeFile(born, await layeredPdf(LINES.map((lines) => ({ kind: 'text' as const, lines }))));
    const read = async (...flags: string[]) => {
      const ran = await pagefleet(['submit', born, '--pages', '2', ...flags, '--wait', '--output', 'json'], env);
      assert.equal(ran.code, 0, ran.stderr);
      const job = JSON.parse(ran.stdout) as { pageCount: number; pages: Array<{ page: number; method: string }> };
      assert.equal(job.pageCount, 1);
      return job.pages.map((page) => [page.page, page.method]);
    };
    assert.deepEqual(await read(), [[2, 'text']]);
    assert.deepEqual(await read('--force-ocr'), [[2, 'ocr']]);
    assert.equal((await pagefleet(['submit', born, '--pages', '9'], env)).code, 1);
  });

  test('submit, status, result, workers and cancel speak JSON with --json', async () => {
    const submitted = await pagefleet(['submit', letter, '--json'], env);
    assert.equal(submitted.code, 0, submitted.stderr);
    const { id, pageCount } = JSON.parse(submitted.stdout) as { id: string; pageCount: number };
    assert.equal(pageCount, 2);
    await stack.waitFor(id, (doc) => doc.status === 'completed');
    const status = await pagefleet(['status', id, '--json'], env);
    assert.equal(status.code, 0);
    assert.equal((JSON.parse(status.stdout) as { pagesDone: number }).pagesDone, 2);
    const result = await pagefleet(['result', id, '--output', 'json'], env);
    assert.equal(result.code, 0, result.stderr);
    const pages = (JSON.parse(result.stdout) as { pages: Array<{ page: number; words: unknown[] }> }).pages;
    assert.deepEqual(
      pages.map((page) => page.page),
      [1, 2],
    );
    assert.ok((pages[0]?.words.length ?? 0) > 5);
    const workers = await pagefleet(['workers', '--json'], env);
    assert.equal((JSON.parse(workers.stdout) as unknown[]).length, 1);
    const canceled = await pagefleet(['cancel', id], env);
    assert.equal(canceled.code, 0);
    const gone = await pagefleet(['status', id], env);
    assert.equal(gone.code, 3, 'a canceled job is not done');
    assert.match(gone.stdout, /canceled/);
  });

  test('the package installs on its own: its tarball has no dependencies and runs where nothing of the repository is', async () => {
    const npm = (args: string[], cwd: string) =>
      new Promise<string>((resolve, reject) =>
        execFile(
          'npm',
          args,
          { cwd, env: { ...process.env, npm_config_update_notifier: 'false' } },
          (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)),
        ),
      );
    const packed = JSON.parse(
      await npm(['pack', path.resolve('packages/cli'), '--pack-destination', dir, '--json'], dir),
    ) as Array<{ filename: string }>;
    const prefix = path.join(dir, 'elsewhere');
    await npm(
      [
        'install',
        '--prefix',
        prefix,
        '--offline',
        '--no-audit',
        '--no-fund',
        path.join(dir, packed[0]?.filename ?? ''),
      ],
      dir,
    );
    const installed = path.join(prefix, 'node_modules', '.bin', 'pagefleet');
    const ran = await new Promise<Ran>((resolve) =>
      execFile(installed, ['workers'], { env: { PATH: process.env.PATH ?? '', ...env } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /busy \d+\/\d+/);
  });

  test('exit codes: 3 for a partial job, 1 with one readable line for a refusal, 2 for usage, 4 when unreachable', async () => {
    const good = await textPage(LINES[0] as string[]);
    const truncated = path.join(dir, 'truncated.png');
    await writeFile(truncated, good.subarray(0, Math.floor(good.length / 2)));
    const page = path.join(dir, 'good.png');
    await writeFile(page, good);
    const partial = await pagefleet(['submit', page, truncated, '--wait'], env);
    assert.equal(partial.code, 3, partial.stderr);
    assert.match(partial.stderr, /partial: 1 of 2 pages failed/);
    assert.match(partial.stdout, /progress tick/, 'the pages read are still written');

    const empty = path.join(dir, 'empty.pdf');
    await writeFile(empty, '');
    const refused = await pagefleet(['submit', empty], env);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, 'pagefleet: 422 empty: empty.pdf: the file is empty\n');

    const unauthorized = await pagefleet(['workers'], { PAGEFLEET_URL: stack.url });
    assert.equal(unauthorized.code, 1);
    assert.match(unauthorized.stderr, /^pagefleet: 401 /);

    for (const args of [
      [],
      ['frobnicate'],
      ['status'],
      ['submit', letter, '--output', 'docx'],
      ['submit', path.join(dir, 'missing.pdf')],
    ]) {
      const usage = await pagefleet(args, env);
      assert.equal(usage.code, 2, `${args.join(' ')}: ${usage.stderr}`);
      assert.match(usage.stderr, /usage:/);
    }
    const unreachable = await pagefleet(['status', '00000000-0000-4000-8000-000000000000'], {
      PAGEFLEET_URL: 'http://127.0.0.1:9',
    });
    assert.equal(unreachable.code, 4);
    assert.match(unreachable.stderr, /cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});
