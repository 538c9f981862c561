/**
 * Character and word error rates as OCR evaluations report them. Both texts are normalized the
 * same way first: Unicode NFC, every run of whitespace (line breaks and form feeds included) made
 * one space, and trimmed. Case and punctuation count.
 */
export const normalizeText = (text: string) => text.normalize('NFC').replace(/\s+/g, ' ').trim();

/** Levenshtein distance between two sequences (characters or words). */
export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** Errors and reference length, so that rates over many pages weigh each page by its length. */
export interface ErrorCount {
  errors: number;
  length: number;
}

export function characterErrors(reference: string, actual: string): ErrorCount {
  const a = [...normalizeText(reference)];
  return { errors: editDistance(a, [...normalizeText(actual)]), length: a.length };
}

export function wordErrors(reference: string, actual: string): ErrorCount {
  const words = (text: string) => normalizeText(text).split(' ').filter(Boolean);
  const a = words(reference);
  return { errors: editDistance(a, words(actual)), length: a.length };
}

export const rate = ({ errors, length }: ErrorCount) => errors / Math.max(1, length);

/** Character error rate of one text against its reference. */
export const cer = (reference: string, actual: string) => rate(characterErrors(reference, actual));
