import { readFile, writeFile } from 'node:fs/promises';

const BEGIN = '<!-- bench:begin -->';
const END = '<!-- bench:end -->';

/** Replaces what lies between a page's `<!-- bench:begin -->` and `<!-- bench:end -->` with `text`. */
export async function writeBenchSection(page: string, text: string): Promise<void> {
  const doc = await readFile(page, 'utf8');
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${page} has no ${BEGIN} … ${END} section`);
  await writeFile(page, `${doc.slice(0, begin + BEGIN.length)}\n${text}\n${doc.slice(end)}`);
}
