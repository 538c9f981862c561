import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Text of a PDF as poppler's pdftotext extracts it: the text layer a reader searches. */
export async function pdfText(pdf: Buffer): Promise<{ pages: number; text: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-pdf-'));
  try {
    const file = path.join(dir, 'out.pdf');
    await writeFile(file, pdf);
    const info = spawnSync('pdfinfo', [file], { encoding: 'utf8' });
    const pages = Number(/^Pages:\s+(\d+)/m.exec(info.stdout)?.[1]);
    const text = spawnSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).stdout;
    return { pages, text };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
