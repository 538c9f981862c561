import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { DocumentState, PageResult } from './jobs.js';
import { everyPage } from './page-ranges.js';
import type { DocumentPaths } from './paths.js';

/** Readers never see a half-written file: write beside the target, then rename over it. */
export async function writeFileAtomic(target: string, data: string | Buffer): Promise<void> {
  const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, data);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** A JSON file's content, or undefined when there is no such file. */
async function readJsonIfPresent<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A page's stored result (worker writes it, API serves it); undefined while the page has none. */
export const readPageResult = (paths: DocumentPaths, page: number) => readJsonIfPresent<PageResult>(paths.page(page));

/** A finished document's state as the worker saved it beside its files; undefined if it has none. */
export async function readSavedState(paths: DocumentPaths): Promise<DocumentState | undefined> {
  const state = await readJsonIfPresent<Omit<DocumentState, 'pages'> & { pages?: string }>(paths.state);
  // States saved before page selections existed name no pages: they had every page.
  return state && { ...state, pages: state.pages ?? everyPage(state.pageCount) };
}
