import { readFile } from 'node:fs/promises';
import { writeFileAtomic, type DocumentPaths, type PageResult } from '@pagefleet/shared';

export async function writePageResult(paths: DocumentPaths, result: PageResult): Promise<void> {
  await writeFileAtomic(paths.page(result.page), JSON.stringify(result));
}

export async function readPageResult(paths: DocumentPaths, page: number): Promise<PageResult | undefined> {
  try {
    return JSON.parse(await readFile(paths.page(page), 'utf8')) as PageResult;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
