import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { DocumentState, PageResult } from './jobs.js';
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

/** A page's stored result (worker writes it, API serves it); undefined while the page has none. */
export async function readPageResult(paths: DocumentPaths, page: number): Promise<PageResult | undefined> {
  try {
    return JSON.parse(await readFile(paths.page(page), 'utf8')) as PageResult;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A finished document's state as the worker saved it beside its files; undefined if it has none. */
export async function readSavedState(paths: DocumentPaths): Promise<DocumentState | undefined> {
  try {
    return JSON.parse(await readFile(paths.state, 'utf8')) as DocumentState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
