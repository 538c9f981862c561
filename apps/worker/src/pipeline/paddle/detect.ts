import type { BoundingBox } from '@pagefleet/shared';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { sampleGray, type GrayPixels } from './tensor.js';

/** DB post-processing, PaddleOCR's defaults: pixels above THRESHOLD are text … */
const THRESHOLD = 0.3;
/** … a region is a line when its pixels average at least BOX_THRESHOLD … */
const BOX_THRESHOLD = 0.6;
/** … and is grown by area × UNCLIP_RATIO / perimeter on each side (DB shrinks text when trained). */
const UNCLIP_RATIO = 1.5;
/** Regions thinner than this, in the map's pixels, are noise. */
const MIN_SIZE = 3;

/** ImageNet's normalization, which the detection model was trained with. */
const MEAN = [0.485, 0.456, 0.406] as const;
const STD = [0.229, 0.224, 0.225] as const;

/**
 * The map's size for a page: the page scaled so that its longer side is at most `maxSide`, each
 * side a multiple of 32 (the network halves the map five times).
 */
function mapSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  const round32 = (value: number) => Math.max(32, Math.round((value * scale) / 32) * 32);
  return { width: round32(width), height: round32(height) };
}

/** The detection model's input: the page, gray in three planes, at the map's size, each normalized by its channel's figures. */
function detectionInput(image: GrayPixels, size: { width: number; height: number }): Float32Array {
  const plane = size.width * size.height;
  const input = new Float32Array(3 * plane);
  const whole = { x: 0, y: 0, width: image.width, height: image.height };
  sampleGray(image, whole, size.width, size.height, input, 0, size.width, (v) => v / 255);
  for (let c = 0; c < 3; c++) {
    const mean = MEAN[c] as number;
    const std = STD[c] as number;
    for (let i = c * plane; i < (c + 1) * plane; i++) input[i] = ((input[i] as number) - mean) / std;
  }
  return input;
}

/**
 * The text regions of a probability map as boxes in page pixels: connected regions of text
 * pixels, scored by their mean probability and grown back to the text's size. Upright boxes:
 * pages reach the engine deskewed and turned upright.
 */
function boxesOf(
  map: Float32Array,
  size: { width: number; height: number },
  page: { width: number; height: number },
): BoundingBox[] {
  const { width, height } = size;
  const labels = new Int32Array(width * height);
  const stack: number[] = [];
  const boxes: BoundingBox[] = [];
  const sx = page.width / width;
  const sy = page.height / height;
  let label = 0;
  for (let start = 0; start < labels.length; start++) {
    if (labels[start] !== 0 || (map[start] as number) <= THRESHOLD) continue;
    label++;
    labels[start] = label;
    stack.push(start);
    let [x0, y0, x1, y1] = [width, height, 0, 0];
    let sum = 0;
    let count = 0;
    while (stack.length > 0) {
      const at = stack.pop() as number;
      const x = at % width;
      const y = (at - x) / width;
      sum += map[at] as number;
      count++;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
      for (const next of [
        x > 0 ? at - 1 : -1,
        x < width - 1 ? at + 1 : -1,
        y > 0 ? at - width : -1,
        y < height - 1 ? at + width : -1,
      ]) {
        if (next < 0 || labels[next] !== 0 || (map[next] as number) <= THRESHOLD) continue;
        labels[next] = label;
        stack.push(next);
      }
    }
    const w = x1 - x0 + 1;
    const h = y1 - y0 + 1;
    if (Math.min(w, h) < MIN_SIZE || sum / count < BOX_THRESHOLD) continue;
    const grow = (w * h * UNCLIP_RATIO) / (2 * (w + h));
    boxes.push({
      x0: Math.max(0, Math.floor((x0 - grow) * sx)),
      y0: Math.max(0, Math.floor((y0 - grow) * sy)),
      x1: Math.min(page.width, Math.ceil((x1 + 1 + grow) * sx)),
      y1: Math.min(page.height, Math.ceil((y1 + 1 + grow) * sy)),
    });
  }
  return boxes;
}

/** The page's text lines (or pieces of them), as boxes in page pixels. */
export async function detectLines(
  session: InferenceSession,
  TensorOf: typeof Tensor,
  image: GrayPixels,
  maxSide: number,
): Promise<BoundingBox[]> {
  const size = mapSize(image.width, image.height, maxSide);
  const input = new TensorOf('float32', detectionInput(image, size), [1, 3, size.height, size.width]);
  const output = await session.run({ [session.inputNames[0] as string]: input });
  const map = output[session.outputNames[0] as string] as Tensor;
  try {
    return boxesOf(map.data as Float32Array, size, image);
  } finally {
    map.dispose();
    input.dispose();
  }
}
