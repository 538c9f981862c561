import type { BoundingBox, WordResult } from '@pagefleet/shared';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { LineSegment } from '../reading-order.js';
import { rotated180, sampleGray, type GrayPixels, type Region } from './tensor.js';

/** The recognition model's input height, and its output's one step per this many input pixels. */
const LINE_HEIGHT = 48;
const STEP_PIXELS = 8;
/** The narrowest input (PaddleOCR's 320 × 48): shorter crops are padded to it. */
const MIN_WIDTH = 320;
/** The classifier's input: a crop scaled to 48 high, at most 192 wide. */
const CLASSIFIER_WIDTH = 192;
/** How sure the classifier must be that a line is upside down (PaddleOCR's default). */
const TURNED_THRESHOLD = 0.9;

/** Recognition's and the classifier's normalization: gray from [0, 255] to [-1, 1]. */
const centered = (gray: number) => gray / 127.5 - 1;

export interface Sessions {
  classifier: InferenceSession;
  recognizer: InferenceSession;
  Tensor: typeof Tensor;
}

interface Crop {
  box: BoundingBox;
  source: GrayPixels;
  region: Region;
  /** Read upside down (the page is, by the classifier's vote): its characters run right to left on the page. */
  turned: boolean;
}

const ratioOf = (region: Region) => region.width / Math.max(1, region.height);

async function run(session: InferenceSession, input: Tensor): Promise<Tensor> {
  const output = await session.run({ [session.inputNames[0] as string]: input });
  input.dispose();
  return output[session.outputNames[0] as string] as Tensor;
}

/**
 * Whether the page is upside down, by the direction classifier's vote over its lines (`batch` at a
 * time): a page's lines run one way, so a line the classifier alone calls turned is not.
 */
async function isUpsideDown(sessions: Sessions, image: GrayPixels, crops: Crop[], batch: number): Promise<boolean> {
  let turned = 0;
  for (let start = 0; start < crops.length; start += batch) {
    const group = crops.slice(start, start + batch);
    const plane = LINE_HEIGHT * CLASSIFIER_WIDTH;
    const data = new Float32Array(group.length * 3 * plane);
    group.forEach((crop, i) => {
      const width = Math.min(CLASSIFIER_WIDTH, Math.max(1, Math.ceil(LINE_HEIGHT * ratioOf(crop.region))));
      sampleGray(image, crop.region, width, LINE_HEIGHT, data, i * 3 * plane, CLASSIFIER_WIDTH, centered);
    });
    const output = await run(
      sessions.classifier,
      new sessions.Tensor('float32', data, [group.length, 3, LINE_HEIGHT, CLASSIFIER_WIDTH]),
    );
    const probabilities = output.data as Float32Array;
    group.forEach((_crop, i) => {
      if ((probabilities[i * 2 + 1] as number) >= TURNED_THRESHOLD) turned++;
    });
    output.dispose();
  }
  return turned * 2 > crops.length;
}

/** A decoded character: its text, probability and the output steps it spans. */
interface Decoded {
  char: string;
  probability: number;
  first: number;
  last: number;
}

/** Greedy CTC: the best class per step, repeats merged, blanks (class 0) dropped. */
function decodeSteps(
  probabilities: Float32Array,
  offset: number,
  steps: number,
  classes: number,
  alphabet: readonly string[],
): Decoded[] {
  const decoded: Decoded[] = [];
  let previous = 0;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    let bestP = -1;
    const row = offset + t * classes;
    for (let k = 0; k < classes; k++) {
      const p = probabilities[row + k] as number;
      if (p > bestP) {
        bestP = p;
        best = k;
      }
    }
    if (best !== 0 && best === previous) {
      const last = decoded.at(-1) as Decoded;
      last.last = t;
      last.probability = Math.max(last.probability, bestP);
    } else if (best !== 0) {
      decoded.push({ char: alphabet[best - 1] ?? '', probability: bestP, first: t, last: t });
    }
    previous = best;
  }
  return decoded;
}

/**
 * Where the ink of a crop pauses: runs of columns without a dark pixel, as [from, to) in the
 * crop's pixels, with the height of its ink and the columns it spans. Dark is below the middle of
 * the crop's range.
 */
function inkGaps(
  image: GrayPixels,
  region: Region,
): { gaps: Array<[number, number]>; inkHeight: number; inked: [number, number] | undefined } {
  const x0 = Math.max(0, Math.floor(region.x));
  const y0 = Math.max(0, Math.floor(region.y));
  const x1 = Math.min(image.width, Math.ceil(region.x + region.width));
  const y1 = Math.min(image.height, Math.ceil(region.y + region.height));
  let [low, high] = [255, 0];
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const v = image.data[y * image.width + x] as number;
      low = Math.min(low, v);
      high = Math.max(high, v);
    }
  }
  const dark = (low + high) / 2;
  const inked = new Uint8Array(x1 - x0);
  let [top, bottom] = [y1, y0];
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if ((image.data[y * image.width + x] as number) >= dark) continue;
      inked[x - x0] = 1;
      top = Math.min(top, y);
      bottom = Math.max(bottom, y + 1);
    }
  }
  const gaps: Array<[number, number]> = [];
  const first = inked.indexOf(1);
  const last = inked.lastIndexOf(1);
  for (let x = first; first >= 0 && x < last; x++) {
    if (inked[x] === 1) continue;
    const from = x;
    while (x < last && inked[x] === 0) x++;
    gaps.push([from + x0 - region.x, x + x0 - region.x]);
  }
  const offset = x0 - region.x;
  return {
    gaps,
    inkHeight: Math.max(1, bottom - top),
    inked: first < 0 ? undefined : [first + offset, last + 1 + offset],
  };
}

/**
 * A detected line narrowed to its ink, in page pixels: detection grows every box by about its
 * height on each side, which would cover a gutter as wide as a line is high and hide a page's
 * columns from the reading order.
 */
function trimToInk(image: GrayPixels, box: BoundingBox): BoundingBox {
  const { inked } = inkGaps(image, { x: box.x0, y: box.y0, width: box.x1 - box.x0, height: box.y1 - box.y0 });
  return inked ? { ...box, x0: Math.floor(box.x0 + inked[0]), x1: Math.ceil(box.x0 + inked[1]) } : box;
}

/**
 * A pause in the ink at least this share of the ink's height, and this many times the line's
 * median pause, is a space: the Chinese models often drop the spaces of Latin text, so words are
 * told apart by their gaps as well as by the spaces they read. A word space is about a third of an
 * em; letters with wide sides (T, V, W) leave pauses of a quarter (0.25 split them on receipts:
 * `STA T IONERY`; 0.35 read the corpus' receipts at the lowest WER of 0.25–0.6).
 */
const SPACE_HEIGHTS = 0.35;
const SPACE_PAUSES = 2;

/**
 * A recognized line split into words, at the spaces it read and at the wide pauses of its ink,
 * each boxed by the steps its characters span: `pixelsPerStep` of the crop per step, from its left
 * edge (for a line read upside down, `box` is mirrored: from its right edge leftwards).
 */
function wordsOf(
  decoded: Decoded[],
  box: BoundingBox,
  pixelsPerStep: number,
  turned: boolean,
  ink: { gaps: Array<[number, number]>; inkHeight: number },
): WordResult[] {
  const widths = ink.gaps.map(([from, to]) => to - from);
  const usual = [...widths].sort((a, b) => a - b)[Math.floor(widths.length / 2)] ?? 0;
  const spaces = ink.gaps.filter(
    ([from, to]) => to - from >= Math.max(SPACE_HEIGHTS * ink.inkHeight, SPACE_PAUSES * usual),
  );
  const centre = (c: Decoded) => ((c.first + c.last + 1) / 2) * pixelsPerStep;
  const words: WordResult[] = [];
  let current: Decoded[] = [];
  const flush = () => {
    if (current.length === 0) return;
    let from = (current[0] as Decoded).first * pixelsPerStep;
    let to = ((current.at(-1) as Decoded).last + 1) * pixelsPerStep;
    // Boxes end where the ink pauses around the word, not at the steps' coarse edges.
    for (const [start, end] of spaces) {
      if (end <= centre(current[0] as Decoded)) from = Math.max(from, end);
      if (start >= centre(current.at(-1) as Decoded)) to = Math.min(to, start);
    }
    const [left, right] = turned ? [box.x1 - to, box.x1 - from] : [box.x0 + from, box.x0 + to];
    words.push({
      text: current.map((c) => c.char).join(''),
      confidence: Math.round((current.reduce((sum, c) => sum + c.probability, 0) / current.length) * 10_000) / 100,
      bbox: { x0: Math.max(box.x0, Math.floor(left)), y0: box.y0, x1: Math.min(box.x1, Math.ceil(right)), y1: box.y1 },
    });
    current = [];
  };
  for (const char of decoded) {
    const previous = current.at(-1);
    const paused =
      previous !== undefined && spaces.some(([from, to]) => centre(previous) <= from && to <= centre(char));
    if (char.char.trim() === '' || paused) flush();
    if (char.char.trim() !== '') current.push(char);
  }
  flush();
  return words;
}

/**
 * Reads each box, narrowed to its ink, as a line of text: every line turned when the page is upside
 * down (the classifier's vote), then the crops, scaled to 48 pixels high, `batch` at a time in
 * order of width (less padding per batch).
 */
export async function recognizeLines(
  sessions: Sessions,
  image: GrayPixels,
  boxes: BoundingBox[],
  alphabet: readonly string[],
  batch: number,
): Promise<{ segments: LineSegment[]; upsideDown: boolean }> {
  const crops: Crop[] = boxes
    .map((detected) => trimToInk(image, detected))
    .map((box) => ({
      box,
      source: image,
      region: { x: box.x0, y: box.y0, width: box.x1 - box.x0, height: box.y1 - box.y0 },
      turned: false,
    }));
  const upsideDown = await isUpsideDown(sessions, image, crops, batch);
  if (upsideDown) {
    for (const crop of crops) {
      crop.turned = true;
      crop.source = rotated180(image, crop.region);
      crop.region = { x: 0, y: 0, width: crop.source.width, height: crop.source.height };
    }
  }
  const order = [...crops].sort((a, b) => ratioOf(a.region) - ratioOf(b.region));
  const segments: LineSegment[] = [];
  for (let start = 0; start < order.length; start += batch) {
    const group = order.slice(start, start + batch);
    const widths = group.map((crop) => Math.max(1, Math.ceil(LINE_HEIGHT * ratioOf(crop.region))));
    const inputWidth = Math.max(MIN_WIDTH, Math.ceil(Math.max(...widths) / STEP_PIXELS) * STEP_PIXELS);
    const plane = LINE_HEIGHT * inputWidth;
    const data = new Float32Array(group.length * 3 * plane);
    group.forEach((crop, i) => {
      sampleGray(crop.source, crop.region, widths[i] as number, LINE_HEIGHT, data, i * 3 * plane, inputWidth, centered);
    });
    const output = await run(
      sessions.recognizer,
      new sessions.Tensor('float32', data, [group.length, 3, LINE_HEIGHT, inputWidth]),
    );
    const [, steps = 0, classes = 0] = output.dims;
    const probabilities = output.data as Float32Array;
    group.forEach((crop, i) => {
      const decoded = decodeSteps(probabilities, i * steps * classes, steps, classes, alphabet);
      // Steps cover the padded input: this many of the crop's own pixels each.
      const pixelsPerStep = (inputWidth / steps) * (crop.region.width / (widths[i] as number));
      const ink = inkGaps(crop.source, crop.region);
      segments.push({ bbox: crop.box, words: wordsOf(decoded, crop.box, pixelsPerStep, crop.turned, ink) });
    });
    output.dispose();
  }
  return { segments, upsideDown };
}
