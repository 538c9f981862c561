import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { findLanguageFile, onPath, type OcrModel } from '@pagefleet/shared';

/**
 * A tessdata folder holding the very traineddata pagefleet reads for `model`, unzipped for the
 * `tesseract` command; undefined where that command is not installed.
 */
export async function nativeTessdata(workDir: string, model: OcrModel): Promise<string | undefined> {
  if (!onPath('tesseract')) return undefined;
  const file = findLanguageFile('eng', { model });
  if (!file) return undefined;
  const dir = path.join(workDir, 'tessdata');
  await mkdir(dir, { recursive: true });
  const target = path.join(dir, 'eng.traineddata');
  if (file.endsWith('.gz')) await pipeline(createReadStream(file), createGunzip(), createWriteStream(target));
  else await copyFile(file, target);
  return dir;
}

/** pdftoppm page | tesseract stdin stdout: the same render (gray, DPI) and model as a pagefleet worker; resolves with the text. */
export function nativePage(tessdata: string, file: string, page: number, dpi: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const render = spawn('pdftoppm', ['-f', String(page), '-l', String(page), '-r', String(dpi), '-gray', '--', file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const ocr = spawn(
      'tesseract',
      ['stdin', 'stdout', '--tessdata-dir', tessdata, '-l', 'eng', '--oem', '1', '--psm', '3', '--dpi', String(dpi)],
      {
        stdio: ['pipe', 'pipe', 'ignore'],
        env: { ...process.env, OMP_THREAD_LIMIT: '1' },
      },
    );
    render.stdout.pipe(ocr.stdin);
    let text = '';
    ocr.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    ocr.once('exit', (code) =>
      code === 0 && text.trim() ? resolve(text) : reject(new Error(`tesseract exited ${code} on ${file} page ${page}`)),
    );
  });
}

/** Every page through native tesseract, `parallel` at a time; wall seconds. */
export async function runNative(
  tessdata: string,
  pages: Array<{ file: string; page: number }>,
  parallel: number,
  dpi: number,
): Promise<number> {
  const queue = [...pages];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await nativePage(tessdata, next.file, next.page, dpi);
    }),
  );
  return (performance.now() - started) / 1000;
}
