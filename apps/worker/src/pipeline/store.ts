import { writeFileAtomic, type DocumentPaths, type PageResult } from '@pagefleet/shared';

export async function writePageResult(paths: DocumentPaths, result: PageResult): Promise<void> {
  await writeFileAtomic(paths.page(result.page), JSON.stringify(result));
}
