/**
 * Page selections: `1-3,7,10-` over a document of `total` pages, 1-based. A selection is kept in
 * its canonical form (`1-3,7,10-12`: sorted, merged, no open end) wherever it is stored.
 */

/** A selection that cannot be applied: `syntax` (400) or `out_of_range` (422, a page past the end or nothing left). */
export class PageRangeError extends Error {
  override name = 'PageRangeError';
  constructor(
    readonly reason: 'syntax' | 'out_of_range',
    message: string,
  ) {
    super(message);
  }
}

const RANGE = /^(\d+)(?:(-)(\d*))?$/;

/** The pages a selection names, sorted and each once; `undefined` or '' is every page. */
export function selectPages(spec: string | undefined, total: number): number[] {
  if (spec === undefined || spec.trim() === '') return Array.from({ length: total }, (_, i) => i + 1);
  const chosen = new Set<number>();
  for (const part of spec.split(',')) {
    const match = RANGE.exec(part.trim());
    if (!match)
      throw new PageRangeError('syntax', `pages: "${part.trim()}" is not a page or a range such as 3, 1-5 or 10-`);
    const first = Number(match[1]);
    const last = match[2] ? (match[3] ? Number(match[3]) : total) : first;
    if (first > total || last > total) {
      throw new PageRangeError('out_of_range', `pages: "${part.trim()}" is past the document's last page (${total})`);
    }
    if (first < 1 || last < first) {
      throw new PageRangeError('syntax', `pages: "${part.trim()}" must count up from page 1`);
    }
    for (let page = first; page <= last; page++) chosen.add(page);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** `[1, 2, 3, 7]` → `1-3,7`. */
export function formatPages(pages: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < pages.length;) {
    let j = i;
    while (j + 1 < pages.length && (pages[j + 1] as number) === (pages[j] as number) + 1) j++;
    parts.push(i === j ? String(pages[i]) : `${pages[i]}-${pages[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The pages of a canonical selection (as `formatPages` writes it), in order. */
export function expandPages(canonical: string): number[] {
  return canonical.split(',').flatMap((part) => {
    const [first, last = first] = part.split('-').map(Number) as [number, number?];
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  });
}
