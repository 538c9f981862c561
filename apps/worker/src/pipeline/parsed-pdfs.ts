import { stat } from 'node:fs/promises';
import type { PDFDocument } from 'pdf-lib';
import { parseForPlacement, placeImages, placeImagesIn, type PlacedImage } from './image-placement.js';

/**
 * Files kept parsed add up to at most this many bytes: a parsed document holds 2.5 to 5 times its
 * file (pdf-lib's objects and the bytes of its streams; measured 2.3 MB for a 0.42 MB book, 3.1 MB
 * for a 1.0 MB paper, 10 MB for a 1.8 MB file of object streams), so at most about 20 MB.
 */
const KEPT_FILE_BYTES = 4 << 20;

/** A document kept: its file's bytes (0 until known) and its parse. */
interface Kept {
  bytes: number;
  doc: Promise<PDFDocument | undefined>;
}

/**
 * The documents whose hybrid pages' images were placed, kept parsed for their next hybrid pages.
 * Parsing is the cost of placing (the whole file, on the event loop: 14–64 ms for a book of 55
 * pages and 0.42 MB, 100 ms for a 1 MB paper), where walking one page of a parse costs a
 * millisecond; a document's hybrid pages come to the same worker in turn, as its windows of text
 * layers do (LayerWindows). Kept by document, the oldest dropped first, while the files kept
 * add up to at most `budgetBytes`; a larger file is parsed for each of its pages and not kept.
 */
export class ParsedPdfs {
  private readonly kept = new Map<string, Kept>();

  constructor(private readonly budgetBytes = KEPT_FILE_BYTES) {}

  /**
   * Where page `page` of `pdf` draws its images (see placeImagesIn); `key` names the document's
   * file (its content never changes), without which the file is parsed for this page alone.
   */
  async placements(key: string | undefined, pdf: string, page: number): Promise<PlacedImage[] | undefined> {
    if (key === undefined) return placeImages(pdf, page);
    const doc = await this.parsed(key, pdf);
    return doc && placeImagesIn(doc, page);
  }

  private parsed(key: string, pdf: string): Promise<PDFDocument | undefined> {
    const kept = this.kept.get(key);
    if (kept) {
      // The most recently used last: the first is dropped first.
      this.kept.delete(key);
      this.kept.set(key, kept);
      return kept.doc;
    }
    // Kept before it is parsed, so that pages asking meanwhile wait for this parse.
    const entry: Kept = { bytes: 0, doc: Promise.resolve(undefined) };
    entry.doc = this.parse(key, pdf, entry);
    this.kept.set(key, entry);
    return entry.doc;
  }

  private async parse(key: string, pdf: string, entry: Kept): Promise<PDFDocument | undefined> {
    try {
      const { size } = await stat(pdf);
      if (size > this.budgetBytes) this.kept.delete(key);
      else {
        entry.bytes = size;
        this.dropPast(key);
      }
      return await parseForPlacement(pdf, size);
    } catch (err) {
      // A file that could not be read (gone) is not kept: the next page reads its own.
      this.kept.delete(key);
      throw err;
    }
  }

  /** Drops the oldest documents but `key` until the files kept fit the budget. */
  private dropPast(key: string): void {
    let bytes = [...this.kept.values()].reduce((sum, entry) => sum + entry.bytes, 0);
    for (const [oldest, entry] of this.kept) {
      if (bytes <= this.budgetBytes) break;
      if (oldest === key) continue;
      this.kept.delete(oldest);
      bytes -= entry.bytes;
    }
  }
}
