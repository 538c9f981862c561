import type { BoundingBox, WordResult } from '@pagefleet/shared';

/** A run of words an engine found on one baseline: a whole line, or a piece of one. */
export interface LineSegment {
  bbox: BoundingBox;
  words: WordResult[];
}

/** Blocks of lines of words, in reading order: the shape every engine's page comes in. */
export type PageLayout = WordResult[][][];

/**
 * Lines on either side of a gutter are columns only when they are lines of running text: their
 * rows hold at least this many characters (the median row; typeset columns hold 25 and more). A
 * receipt's quantities and prices or a form's values beside their labels are shorter, so their
 * rows are read across. Counted in characters, not pixels: glyphs' widths differ by font.
 */
const COLUMN_CHARACTERS = 15;

/** A box more than this many line heights high holds several lines. */
const MERGED_HEIGHTS = 2;

/** A gap between rows wider than this many line heights starts a new block. */
const BLOCK_GAP_HEIGHTS = 1;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
const heightOf = (box: BoundingBox) => box.y1 - box.y0;

/** The widest band along one axis that no segment covers, strictly inside the segments' extent. */
function widestGap(
  segments: LineSegment[],
  from: (box: BoundingBox) => number,
  to: (box: BoundingBox) => number,
): { at: number; size: number } | undefined {
  const spans = segments.map((segment) => [from(segment.bbox), to(segment.bbox)] as const).sort((a, b) => a[0] - b[0]);
  let reach = spans[0]?.[1] ?? 0;
  let best: { at: number; size: number } | undefined;
  for (const [start, end] of spans.slice(1)) {
    if (start > reach && (!best || start - reach > best.size)) best = { at: (start + reach) / 2, size: start - reach };
    reach = Math.max(reach, end);
  }
  return best;
}

/** How much of the shorter of two boxes their rows share. */
const rowOverlap = (a: BoundingBox, b: BoundingBox) =>
  (Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0)) / Math.max(1, Math.min(heightOf(a), heightOf(b)));

/**
 * Segments as rows: left to right, each segment joins the row whose last segment shares at least
 * half its height, or starts one; rows top to bottom. Rows of a skewed page overlap, and stay apart.
 */
function rowsOf(segments: LineSegment[]): LineSegment[][] {
  const rows: LineSegment[][] = [];
  for (const segment of [...segments].sort((a, b) => a.bbox.x0 - b.bbox.x0)) {
    let best: { row: LineSegment[]; overlap: number } | undefined;
    for (const row of rows) {
      const overlap = rowOverlap((row.at(-1) as LineSegment).bbox, segment.bbox);
      if (overlap >= 0.5 && (!best || overlap > best.overlap)) best = { row, overlap };
    }
    if (best) best.row.push(segment);
    else rows.push([segment]);
  }
  const middle = (row: LineSegment[]) => row.reduce((sum, s) => sum + s.bbox.y0 + s.bbox.y1, 0) / row.length;
  return rows.sort((a, b) => middle(a) - middle(b));
}

/**
 * Whether segments are lines of running text: their rows' median length is at least
 * COLUMN_CHARACTERS, spaces counted (an engine may find a line in several pieces, so rows count).
 */
function isRunningText(segments: LineSegment[]): boolean {
  if (segments.length === 0) return false;
  const lengths = rowsOf(segments).map((row) => {
    const words = row.flatMap((segment) => segment.words);
    return words.reduce((sum, word) => sum + [...word.text].length, Math.max(0, words.length - 1));
  });
  return median(lengths) >= COLUMN_CHARACTERS;
}

/**
 * Recursive XY-cut: a region splits into columns at its widest vertical gutter when both sides
 * hold running text, otherwise into an upper and a lower part at its widest gap between rows, until
 * each part is one row. A two-column page thus reads column after column, a receipt row by row.
 */
function cut(segments: LineSegment[], lineHeight: number): PageLayout {
  if (segments.length === 0) return [];
  // Gutters are found between lines: a box several lines high (an engine's lines merged, a
  // picture's caption) may cross one, and goes to the side of its middle.
  const lines = new Set(segments.filter((s) => heightOf(s.bbox) <= MERGED_HEIGHTS * lineHeight));
  const gutter = widestGap(
    [...lines],
    (box) => box.x0,
    (box) => box.x1,
  );
  if (gutter) {
    const isLeft = (s: LineSegment) => s.bbox.x0 + s.bbox.x1 < 2 * gutter.at;
    const left = segments.filter(isLeft);
    const right = segments.filter((s) => !isLeft(s));
    if (isRunningText(left.filter((s) => lines.has(s))) && isRunningText(right.filter((s) => lines.has(s)))) {
      return [...cut(left, lineHeight), ...cut(right, lineHeight)];
    }
  }
  const gap = widestGap(
    segments,
    (box) => box.y0,
    (box) => box.y1,
  );
  if (!gap) return [rowsOf(segments).map((row) => row.flatMap((segment) => segment.words))];
  const upper = cut(
    segments.filter((s) => s.bbox.y1 <= gap.at),
    lineHeight,
  );
  const lower = cut(
    segments.filter((s) => s.bbox.y0 >= gap.at),
    lineHeight,
  );
  if (gap.size > BLOCK_GAP_HEIGHTS * lineHeight || upper.length === 0 || lower.length === 0)
    return [...upper, ...lower];
  // A gap of ordinary leading: the last block above and the first below are one block.
  return [...upper.slice(0, -1), [...(upper.at(-1) ?? []), ...(lower[0] ?? [])], ...lower.slice(1)];
}

/** The segments an engine found, in reading order: blocks of lines of words. */
export function readingOrder(segments: LineSegment[]): PageLayout {
  const usable = segments.filter((segment) => segment.words.length > 0);
  return cut(usable, median(usable.map((s) => heightOf(s.bbox))) || 1);
}

/** A layout's text: words joined by spaces, lines by newlines, blocks by an empty line. */
export const layoutText = (layout: PageLayout) =>
  layout.map((block) => block.map((line) => line.map((word) => word.text).join(' ')).join('\n')).join('\n\n') +
  (layout.length > 0 ? '\n' : '');
