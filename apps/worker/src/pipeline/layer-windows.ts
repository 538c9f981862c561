import { untilAborted } from './deadline.js';
import { readPages, type PageRead } from './text-layer.js';

/**
 * A window's output past which its pages are read alone: sixteen pages of the corpus write 0.5–0.6
 * MB of words and boxes (GeoTopo), and tracemonkey's fourteen dense two-column pages 1.6 MB.
 */
const WINDOW_BYTES = 4 << 20;

/**
 * Text layers read a window of pages at a time: the first page of a window asked for reads the
 * whole window in one pass (readPages: three children, each parsing the file once), and the
 * window's other pages, whose jobs the same worker usually takes next (pages are queued in page
 * order), are answered from memory. Each child re-parses the whole file, so reading page by page
 * costs a file of shared resources its parse once per page (docs/text-layer.md has the figures).
 *
 * A window is keyed by its document's file, not by a path (paths of scratch copies are reused).
 * Its children are not tied to the page that started them: several pages wait on them, each for
 * as long as its own deadline allows. A window that fails — its children write more than
 * `windowBytes` each, say — has its pages read alone, so that what the windows kept hold stays
 * within `keep` × a few times `windowBytes`, whatever the pages carry.
 */
export class LayerWindows {
  private readonly windows = new Map<string, Promise<Map<number, PageRead>>>();

  constructor(
    /** Pages per window (TEXT_LAYER_WINDOW). */
    private readonly size: number,
    /** Windows kept in memory, the oldest dropped first. */
    private readonly keep: number,
    /** Bytes each of a window's children may write (a page read alone may write MAX_LAYER_BYTES). */
    private readonly windowBytes = WINDOW_BYTES,
  ) {}

  /**
   * Page `page` of `pdf`, the file `key` names (one file of one document: its content never
   * changes); without a key, the page is read alone.
   */
  async read(key: string | undefined, pdf: string, page: number, signal: AbortSignal): Promise<PageRead> {
    if (key !== undefined && this.size > 1) {
      const first = Math.floor((page - 1) / this.size) * this.size + 1;
      const windowKey = `${key}#${first}`;
      let window = this.windows.get(windowKey);
      if (!window) {
        // A window that fails is remembered empty: its pages are read alone, and it is not tried again.
        window = readPages(pdf, first, first + this.size - 1, new AbortController().signal, this.windowBytes).catch(
          () => new Map<number, PageRead>(),
        );
        this.windows.set(windowKey, window);
        for (const oldest of this.windows.keys()) {
          if (this.windows.size <= this.keep) break;
          this.windows.delete(oldest);
        }
      }
      const read = (await untilAborted(window, signal)).get(page);
      if (read) return read;
    }
    const alone = (await readPages(pdf, page, page, signal)).get(page);
    if (!alone) throw new Error(`pdftotext read no page ${page} of the file`);
    return alone;
  }
}
