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
export async function pdfInfo(file: string, timeoutMs: number, page?: number, signal?: AbortSignal): Promise<PdfInfo> {
  const range = page === undefined ? [] : ['-f', String(page), '-l', String(page)];
  // '--' so that a file name can never be read as an option.
  const options = { timeoutMs, maxBytes: 1 << 20, ...(signal ? { signal } : {}) };
  const out = (await runTool('pdfinfo', [...range, '--', file], options)).toString('latin1');
  const size = /^Page\s+(?:\d+\s+)?size:\s+([\d.]+) x ([\d.]+) pts/m.exec(out);
  return {
    pages: Number(/^Pages:\s+(\d+)/m.exec(out)?.[1] ?? 0),
    encrypted: /^Encrypted:\s+yes/m.test(out),
    width: Number(size?.[1] ?? 0),
    height: Number(size?.[2] ?? 0),
    rotation: Number(/^Page\s+(?:\d+\s+)?rot:\s+(\d+)/m.exec(out)?.[1] ?? 0),
  };
}

/** A document's page count and the size in points and /Rotate of each of its first `maxPages` pages, in one pdfinfo run. */
export async function pdfDocumentInfo(
  file: string,
  maxPages: number,
  timeoutMs: number,
): Promise<{ pages: number; sizes: Array<{ width: number; height: number; rotation: number }> }> {
  // pdfinfo stops at the document's last page when -l is past it.
  const out = (
    await runTool('pdfinfo', ['-f', '1', '-l', String(maxPages), '--', file], {
      timeoutMs,
      // Each page adds two short lines (size, rotation) to a header of a few hundred bytes.
      maxBytes: (1 << 16) + maxPages * 256,
    })
  ).toString('latin1');
  const pages = Number(/^Pages:\s+(\d+)/m.exec(out)?.[1] ?? 0);
  const sizes = Array.from({ length: Math.min(pages, maxPages) }, () => ({ width: 0, height: 0, rotation: 0 }));
  for (const match of out.matchAll(/^Page\s+(\d+)\s+size:\s+([\d.]+) x ([\d.]+) pts/gm)) {
    const size = sizes[Number(match[1]) - 1];
    if (size) Object.assign(size, { width: Number(match[2]), height: Number(match[3]) });
  }
  for (const match of out.matchAll(/^Page\s+(\d+)\s+rot:\s+(\d+)/gm)) {
    const size = sizes[Number(match[1]) - 1];
    if (size) size.rotation = Number(match[2]) % 360;
  }
  return { pages, sizes };
}
