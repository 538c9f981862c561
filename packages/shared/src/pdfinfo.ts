import { runTool } from './tools.js';

export interface PdfInfo {
  pages: number;
  encrypted: boolean;
  /** Size in points of the page asked for (or of page 1). */
  width: number;
  height: number;
  /** /Rotate of that page in degrees. */
  rotation: number;
}

/** Reads `pdfinfo` (poppler) for a file, and for one page when `page` is given. */
export async function pdfInfo(file: string, timeoutMs: number, page?: number): Promise<PdfInfo> {
  const range = page === undefined ? [] : ['-f', String(page), '-l', String(page)];
  // '--' so that a file name can never be read as an option.
  const out = (await runTool('pdfinfo', [...range, '--', file], { timeoutMs, maxBytes: 1 << 20 })).toString('latin1');
  const size = /^Page\s+(?:\d+\s+)?size:\s+([\d.]+) x ([\d.]+) pts/m.exec(out);
  return {
    pages: Number(/^Pages:\s+(\d+)/m.exec(out)?.[1] ?? 0),
    encrypted: /^Encrypted:\s+yes/m.test(out),
    width: Number(size?.[1] ?? 0),
    height: Number(size?.[2] ?? 0),
    rotation: Number(/^Page\s+(?:\d+\s+)?rot:\s+(\d+)/m.exec(out)?.[1] ?? 0),
  };
}
