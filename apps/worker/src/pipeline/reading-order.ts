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
 * median length is at least this many line heights (about a dozen characters). A receipt's prices
 * or a form's values beside their labels are short, so their rows are read across.
 */
const COLUMN_LINE_HEIGHTS = 6;

/** A gap between rows wider than this many line heights starts a new block. */
const BLOCK_GAP_HEIGHTS = 1;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
const heightOf = (box: BoundingBox) => box.y1 - box.y0;
const widthOf = (box: BoundingBox) => box.x1 - box.x0;

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

const isRunningText = (segments: LineSegment[]) =>
  median(segments.map((s) => widthOf(s.bbox))) >= COLUMN_LINE_HEIGHTS * median(segments.map((s) => heightOf(s.bbox)));

/** How much of the shorter of two boxes their rows share. */
const rowOverlap = (a: BoundingBox, b: BoundingBox) =>
  (Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0)) / Math.max(1, Math.min(heightOf(a), heightOf(b)));

/**
 * Segments no gap between rows separates (a skewed page's lines overlap), as lines: left to right,
 * each segment joins the line whose last segment shares at least half its row, or starts one.
 */
function linesOf(segments: LineSegment[]): WordResult[][] {
  const lines: LineSegment[][] = [];
  for (const segment of [...segments].sort((a, b) => a.bbox.x0 - b.bbox.x0)) {
    let best: { line: LineSegment[]; overlap: number } | undefined;
    for (const line of lines) {
      const overlap = rowOverlap((line.at(-1) as LineSegment).bbox, segment.bbox);
      if (overlap >= 0.5 && (!best || overlap > best.overlap)) best = { line, overlap };
    }
    if (best) best.line.push(segment);
    else lines.push([segment]);
  }
  const middle = (line: LineSegment[]) => line.reduce((sum, s) => sum + s.bbox.y0 + s.bbox.y1, 0) / line.length;
  return lines.sort((a, b) => middle(a) - middle(b)).map((line) => line.flatMap((segment) => segment.words));
}

/**
 * Recursive XY-cut: a region splits into columns at its widest vertical gutter when both sides
 * hold running text, otherwise into an upper and a lower part at its widest gap between rows, until
 * each part is one row. A two-column page thus reads column after column, a receipt row by row.
 */
function cut(segments: LineSegment[], lineHeight: number): PageLayout {
  if (segments.length === 0) return [];
  const gutter = widestGap(
    segments,
    (box) => box.x0,
    (box) => box.x1,
  );
  if (gutter) {
    const left = segments.filter((s) => s.bbox.x1 <= gutter.at);
    const right = segments.filter((s) => s.bbox.x0 >= gutter.at);
    if (isRunningText(left) && isRunningText(right)) return [...cut(left, lineHeight), ...cut(right, lineHeight)];
  }
  const gap = widestGap(
    segments,
    (box) => box.y0,
    (box) => box.y1,
  );
  if (!gap) return [linesOf(segments)];
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

/**
 * The segments an engine found, in reading order: blocks of lines of words. Segments whose rows
 * overlap (a skewed line, touching lines) are read as one row, left to right.
 */
export function readingOrder(segments: LineSegment[]): PageLayout {
  const usable = segments.filter((segment) => segment.words.length > 0);
  return cut(usable, median(usable.map((s) => heightOf(s.bbox))) || 1);
}

/** A layout's text: words joined by spaces, lines by newlines, blocks by an empty line. */
export const layoutText = (layout: PageLayout) =>
  layout.map((block) => block.map((line) => line.map((word) => word.text).join(' ')).join('\n')).join('\n\n') +
  (layout.length > 0 ? '\n' : '');
