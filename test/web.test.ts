import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { cer, pdfOf, scannedPage, textPage, wordLines } from '../scripts/lib/fixtures.js';
import { layeredPdf } from '../scripts/lib/text-pdfs.js';
import { startStack, type Stack } from './support/stack.js';

const KEY = 'a-web-key-of-sixteen-chars';
const LINES = [
  'A letter dropped on the page.',
  'Each word gets a box over the scan.',
  'Signed by the clerk on Tuesday.',
];

/** Debian's chromium (scripts/setup.mjs installs it for tests), or one named by CHROMIUM_PATH. */
function findBrowser(): string | undefined {
  const candidates = [
    process.env.CHROMIUM_PATH,
    ...['chromium', 'chromium-browser', 'google-chrome'].flatMap((name) =>
      (process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, name)),
    ),
  ];
  return candidates.find((file): file is string => Boolean(file) && existsSync(file as string));
}

const executablePath = findBrowser();
const skip = executablePath
  ? false
  : 'no chromium found (apt-get install chromium, or set CHROMIUM_PATH): the web page is not tested';

describe('the web page at /, in a real browser', { skip }, () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  before(async () => {
    stack = await startStack({ API_KEYS: KEY });
    await stack.startWorker();
    browser = await chromium.launch({
      executablePath: executablePath as string,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('a refused key is told in words, with nothing else broken', async () => {
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    await page.goto(stack.url);
    assert.equal(await page.title(), 'pagefleet — read a document');
    await page.getByLabel('API key').fill('not-the-key-at-all-no');
    await page
      .getByLabel('Drop files here, or choose them')
      .setInputFiles({ name: 'letter.png', mimeType: 'image/png', buffer: await textPage(LINES) });
    await page
      .getByRole('alert')
      .filter({ hasText: /API key/i })
      .waitFor({ timeout: 10_000 });
    // The browser logs the refused request itself; nothing else may have gone wrong.
    assert.deepEqual(
      errors.filter((error) => !/401/.test(error)),
      [],
    );
  });

  test('a dropped scan is read: its text, its word boxes and its downloads appear', async () => {
    await page.goto(stack.url);
    await page.getByLabel('API key').fill(KEY);
    await page
      .getByLabel('Drop files here, or choose them')
      .setInputFiles({ name: 'letter.png', mimeType: 'image/png', buffer: await textPage(LINES) });
    const job = page.locator('article.job').first();
    await job.locator('.status-completed').waitFor({ timeout: 60_000 });
    assert.match((await job.getByRole('status').textContent()) ?? '', /completed: 1 of 1 pages read/);
    const text = (await job.getByLabel('Text of page 1').textContent()) ?? '';
    assert.ok(cer(LINES.join('\n'), text) < 0.05, text);
    const boxes = await job.locator('figure.scan rect').count();
    assert.ok(boxes >= 18, `${boxes} word boxes`);
    const image = await job.locator('figure.scan img').evaluate((img) => ({
      complete: (img as unknown as { complete: boolean }).complete,
      width: (img as unknown as { naturalWidth: number }).naturalWidth,
    }));
    assert.ok(image.complete && image.width > 0, 'the page image shows');
    const download = page.waitForEvent('download');
    await job.getByRole('button', { name: 'Download text' }).click();
    assert.equal((await download).suggestedFilename(), `${await job.getAttribute('data-job')}.txt`);
    assert.equal(await job.getByRole('button', { name: 'Download searchable PDF' }).count(), 1);
  });

  test('a two-page scanned PDF: each page in its place with its own text, and the searchable PDF downloads', async () => {
    await page.goto(stack.url);
    await page.getByLabel('API key').fill(KEY);
    const pdf = await pdfOf([await scannedPage(1), await scannedPage(2)]);
    await page
      .getByLabel('Drop files here, or choose them')
      .setInputFiles({ name: 'letter.pdf', mimeType: 'application/pdf', buffer: pdf });
    const job = page.locator('article.job').first();
    await job.locator('.status-completed').waitFor({ timeout: 120_000 });
    assert.deepEqual(
      await job
        .locator('section.page')
        .evaluateAll((sections: Array<{ getAttribute(name: string): string | null }>) =>
          sections.map((section) => section.getAttribute('data-page')),
        ),
      ['1', '2'],
    );
    for (const seed of [1, 2]) {
      const text = (await job.getByLabel(`Text of page ${seed}`).textContent()) ?? '';
      assert.ok(cer(wordLines(seed, 36).join('\n'), text) < 0.02, text.slice(0, 200));
    }
    const download = page.waitForEvent('download');
    await job.getByRole('button', { name: 'Download searchable PDF' }).click();
    const file = await (await download).path();
    assert.equal((await readFile(file)).subarray(0, 5).toString('latin1'), '%PDF-');
    if (process.env.WEB_SCREENSHOT) await writeFile(process.env.WEB_SCREENSHOT, await page.screenshot());
  });

  test('each page says how it was read; Pages and OCR every page reach the server', async () => {
    const pdf = await layeredPdf([
      { kind: 'text', lines: wordLines(7, 8) },
      { kind: 'scan', image: await scannedPage(8) },
      { kind: 'text', lines: wordLines(9, 8) },
    ]);
    const badges = async (fill: () => Promise<void>) => {
      await page.goto(stack.url);
      await page.getByLabel('API key').fill(KEY);
      await fill();
      await page
        .getByLabel('Drop files here, or choose them')
        .setInputFiles({ name: 'mixed.pdf', mimeType: 'application/pdf', buffer: pdf });
      const job = page.locator('article.job').first();
      await job.locator('.status-completed').waitFor({ timeout: 120_000 });
      return job.locator('section.page h3 .badge').allTextContents();
    };
    assert.deepEqual(await badges(() => Promise.resolve()), ['text layer', 'OCR', 'text layer']);
    assert.deepEqual(
      await badges(async () => {
        await page.getByLabel(/^Pages/).fill('2-3');
        await page.getByLabel(/^OCR every page/).check();
      }),
      ['OCR', 'OCR'],
    );
  });

  test('the page works by keyboard: the file picker is reachable with Tab and labelled', async () => {
    await page.goto(stack.url);
    const focused: string[] = [];
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      focused.push(await page.evaluate<string>('document.activeElement?.id ?? ""'));
    }
    assert.deepEqual(focused.slice(0, 7), [
      'api-key',
      'languages',
      'pages',
      'engine',
      'force-ocr',
      'interactive',
      'files',
    ]);
  });
});
