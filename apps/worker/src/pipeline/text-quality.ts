/**
 * Whether a PDF page's text layer is worth reading instead of OCRing the page. The thresholds
 * and the figures that chose them are in docs/text-layer.md.
 */

/**
 * Past this share of characters that decode to nothing (controls, private use, unassigned,
 * U+FFFD, `(cid:N)`), the layer is garbage: fonts without a Unicode mapping. Born-digital
 * pages of the corpus reach 0.038 (formulas in GeoTopo); an unmapped Type 3 font gives 1.0.
 */
export const MAX_UNDECODABLE_SHARE = 0.1;

/**
 * Below this share of letters, marks and digits the layer is punctuation soup ("7+%-$): how a
 * font whose codes map to the wrong glyph names reads. Born-digital pages read 0.50 (a page
 * of formulas) to 1.0, median 0.84 to 0.97 per document.
 */
export const MIN_ALPHANUMERIC_SHARE = 0.25;

/**
 * Past this share of its words without a vowel, a layer's Latin-script text is letters but not
 * words: a font whose codes map to the wrong letters ("Wklv srlqw", a shifted or scrambled
 * alphabet). Real text of the corpus reaches 0.033 (German mathematics: "bcx"); its English and
 * Latin ground truths 0.005; English shifted by 1, 3, 7 or 13 letters reads 0.17–0.45 and five
 * random alphabets 0.17–0.56 (docs/text-layer.md).
 */
export const MAX_VOWELLESS_SHARE = 0.1;

/** The vowel rule judges only layers with at least this many Latin-script words (see `latinWord`). */
export const MIN_LATIN_WORDS = 40;

/** Images covering this much of the page make it a scan: its text layer, if any, is an OCR layer. */
export const SCAN_COVERAGE = 0.9;

/**
 * An image drawn smaller than this (points, either side) holds no line of text worth reading: a
 * bullet, an icon, a rule. Larger ones are OCRed on a hybrid page. A line of 8-point type is about
 * 10 points high with its leading.
 */
export const MIN_TEXT_IMAGE_SIDE = 10;

/** A scanned page whose layer holds fewer words than this carries a stamp (a page number), not its text. */
export const MIN_SCAN_WORDS = 3;

export type LayerVerdict =
  | { use: true; reason: 'born-digital' | 'ocr-layer' | 'hybrid' }
  | { use: false; reason: 'no-text' | 'undecodable' | 'not-words' | 'wrong-letters' | 'too-little-for-a-scan' };

export interface LayerStats {
  /** Characters other than white space. */
  characters: number;
  undecodable: number;
  alphanumeric: number;
  words: number;
  /** Words the vowel rule counts (`latinWord`), and those of them without a vowel. */
  latinWords: number;
  vowelless: number;
}

const UNDECODABLE = /[\p{Cc}\p{Co}\p{Cs}\p{Cn}\uFFFD]/u;
const LATIN_WORD = /^\p{Script=Latin}{3,}$/u;
const INNER_CAPITAL = /.\p{Lu}/u;
/** Vowels of Latin-script languages, accents taken off first (NFD): y counts, as in English and Finnish. */
const VOWEL = /[aeiouyæœøıə]/iu;

/**
 * A word the vowel rule counts: three or more Latin letters and nothing else once quotes,
 * brackets and trailing punctuation other than a full stop are taken off (an abbreviation, a URL, a
 * number is not), lower case but for the first letter (acronyms, symbols such as GLn are not).
 * Ligatures are split (NFKC: "ﬁrst" is "first").
 */
function latinWord(token: string): string | undefined {
  const word = token.normalize('NFKC').replace(/^[("'„“‘«[]+|[)"'“”’»\],;:!?]+$/gu, '');
  return LATIN_WORD.test(word) && !INNER_CAPITAL.test(word) ? word : undefined;
}
const ALPHANUMERIC = /[\p{L}\p{M}\p{N}]/u;

export function layerStats(words: readonly string[]): LayerStats {
  const stats: LayerStats = { characters: 0, undecodable: 0, alphanumeric: 0, words: 0, latinWords: 0, vowelless: 0 };
  for (const word of words) {
    // pdftotext writes a glyph it cannot map as (cid:N): all of it counts as undecodable.
    const cids = word.match(/\(cid:\d+\)/g) ?? [];
    const rest = word.replace(/\(cid:\d+\)/g, '').replace(/\s/gu, '');
    const cidChars = cids.reduce((sum, cid) => sum + cid.length, 0);
    stats.characters += cidChars + [...rest].length;
    stats.undecodable += cidChars;
    for (const char of rest) {
      if (UNDECODABLE.test(char)) stats.undecodable++;
      else if (ALPHANUMERIC.test(char)) stats.alphanumeric++;
    }
    if (rest.length + cidChars > 0) stats.words++;
    const latin = latinWord(word);
    if (latin !== undefined) {
      stats.latinWords++;
      if (!VOWEL.test(latin.normalize('NFD'))) stats.vowelless++;
    }
  }
  return stats;
}

/** What a page's images are: the share of it they cover, and whether any is drawn large enough to hold text. */
export interface PageImages {
  coverage: number;
  textual: boolean;
}

/**
 * The verdict on a page's text layer, given its words and its images. A hybrid page is read from
 * its layer, and what its images show is OCRed beside it.
 */
export function judgeTextLayer(stats: LayerStats, images: PageImages): LayerVerdict {
  if (stats.characters === 0) return { use: false, reason: 'no-text' };
  if (stats.undecodable / stats.characters > MAX_UNDECODABLE_SHARE) return { use: false, reason: 'undecodable' };
  if (stats.alphanumeric / stats.characters < MIN_ALPHANUMERIC_SHARE) return { use: false, reason: 'not-words' };
  if (stats.latinWords >= MIN_LATIN_WORDS && stats.vowelless / stats.latinWords > MAX_VOWELLESS_SHARE) {
    return { use: false, reason: 'wrong-letters' };
  }
  if (images.coverage >= SCAN_COVERAGE) {
    return stats.words >= MIN_SCAN_WORDS
      ? { use: true, reason: 'ocr-layer' }
      : { use: false, reason: 'too-little-for-a-scan' };
  }
  if (images.textual) return { use: true, reason: 'hybrid' };
  return { use: true, reason: 'born-digital' };
}
