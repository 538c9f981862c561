import { open } from 'node:fs/promises';

export type FileType = 'pdf' | 'png' | 'jpeg' | 'tiff' | 'webp';

/** File name extension of each type, as stored under the document's `input/` folder. */
export const EXTENSIONS: Record<FileType, string> = { pdf: 'pdf', png: 'png', jpeg: 'jpg', tiff: 'tif', webp: 'webp' };

const startsWith = (head: Buffer, bytes: number[], at = 0) => bytes.every((byte, i) => head[at + i] === byte);

/** The type of a file from its first bytes; the client's name and Content-Type are never trusted. */
export function detectType(head: Buffer): FileType | undefined {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  // PDF readers accept the header anywhere in the first 1024 bytes, and so does poppler.
  if (head.subarray(0, 1024).includes('%PDF-', 0, 'latin1')) return 'pdf';
  return undefined;
}

export async function sniffFile(file: string): Promise<FileType | undefined> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(1024), 0, 1024, 0);
    return detectType(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
