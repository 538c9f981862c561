import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { scannedPage, wordLines } from '../../lib/fixtures.js';

/** A page image and the text printed on it. */
export interface TruthPage {
  name: string;
  image: string;
  truth: string;
}

/** `count` generated scans written under `dir`, and their text. */
export async function generatedTruthPages(dir: string, count: number): Promise<TruthPage[]> {
  const pages: TruthPage[] = [];
  for (let seed = 1; seed <= count; seed++) {
    const image = path.join(dir, `generated-${seed}.jpg`);
    await writeFile(image, await scannedPage(seed));
    pages.push({ name: `generated scan ${seed}`, image, truth: wordLines(seed, 36).join('\n') });
  }
  return pages;
}

/** The corpus' English accuracy pages: its MANIFEST tags each accuracy image with its languages. */
export async function corpusTruthPages(corpus: string): Promise<TruthPage[]> {
  const manifest = await readFile(path.join(corpus, 'MANIFEST.md'), 'utf8');
  const english = new Set([...manifest.matchAll(/^\| `accuracy\/([^`]+)` \|.*\[eng\] \|/gm)].map((match) => match[1]));
  const pages: TruthPage[] = [];
  for (const file of (await readdir(path.join(corpus, 'accuracy'))).sort()) {
    if (!english.has(file)) continue;
    const truth = await readFile(path.join(corpus, 'accuracy', file.replace(/\.[a-z]+$/, '.gt.txt')), 'utf8');
    pages.push({ name: file, image: path.join(corpus, 'accuracy', file), truth });
  }
  return pages;
}
