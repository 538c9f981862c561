import { writeFileAtomic, type DocumentPaths, type PageFormat, type PageResult } from '@pagefleet/shared';

export async function writePageResult(paths: DocumentPaths, result: PageResult): Promise<void> {
  await writeFileAtomic(paths.page(result.page), JSON.stringify(result));
}

/** A page's extra formats, written before its JSON: once a page reads as done, its files are there. */
export async function writePageFormats(
  paths: DocumentPaths,
  page: number,
  formats: Partial<Record<PageFormat, Buffer>>,
): Promise<void> {
  for (const [format, data] of Object.entries(formats) as Array<[PageFormat, Buffer]>) {
    await writeFileAtomic(paths.pageOutput(page, format), data);
  }
}
