import { readFileSync } from 'node:fs';
import type { InferenceSession } from 'onnxruntime-node';
import type { BoundingBox, PaddleModels, PageFormat } from '@pagefleet/shared';
import { untilAborted } from '../deadline.js';
import { pixelsOf } from '../gray.js';
import { layoutOutput, type OcrEngine, type OcrOutput } from '../ocr.js';
import type { PreparedPage } from '../preprocess.js';
import { readingOrder, type LineSegment } from '../reading-order.js';
import { detectLines } from './detect.js';
import { recognizeLines, type Sessions } from './recognize.js';

export interface PaddleOptions {
  /** Threads each inference may use (ONNX Runtime's intra-op threads): the slots already share the CPUs. */
  threads: number;
  /** Longest side of the detection map, in pixels. */
  detectionSide: number;
  /** Line crops recognized per inference. */
  batch: number;
  /** ONNX Runtime execution providers, in order of preference (`cpu` always last). */
  providers: readonly string[];
}

/** A box turned half a turn on a page of `width`×`height`. */
const turnedBox = (box: BoundingBox, width: number, height: number): BoundingBox => ({
  x0: width - box.x1,
  y0: height - box.y1,
  x1: width - box.x0,
  y1: height - box.y0,
});

/**
 * PaddleOCR's PP-OCRv4 (Chinese and English) through ONNX Runtime on the CPU: detection finds the
 * lines, the classifier turns upside-down ones, recognition reads them; the lines are put in
 * reading order (reading-order.ts) and split into words at their spaces.
 *
 * One set of sessions serves every slot of the process: ONNX Runtime runs concurrent inferences on
 * one session, and the weights are loaded once. Loaded on first use.
 */
export class PaddleOcr implements OcrEngine {
  private loading: Promise<Sessions & { detector: InferenceSession; alphabet: string[] }> | undefined;

  constructor(
    private readonly models: PaddleModels,
    private readonly options: PaddleOptions,
  ) {}

  async recognize(
    page: PreparedPage,
    _languages: string,
    signal: AbortSignal,
    formats: readonly PageFormat[] = [],
  ): Promise<OcrOutput> {
    const sessions = await untilAborted(this.load(), signal);
    const image = { data: pixelsOf(page), width: page.width, height: page.height };
    const boxes = await untilAborted(
      detectLines(sessions.detector, sessions.Tensor, image, this.options.detectionSide),
      signal,
    );
    const { segments, upsideDown } = await untilAborted(
      recognizeLines(sessions, image, boxes, sessions.alphabet, this.options.batch),
      signal,
    );
    // An upside-down page is read, and its boxes given, turned upright.
    const upright: LineSegment[] = upsideDown
      ? segments.map((segment) => ({
          bbox: turnedBox(segment.bbox, page.width, page.height),
          words: segment.words.map((word) => ({ ...word, bbox: turnedBox(word.bbox, page.width, page.height) })),
        }))
      : segments;
    return {
      ...(await layoutOutput(readingOrder(upright), page, formats, 'PaddleOCR PP-OCRv4')),
      ...(upsideDown ? { turned: 180 } : {}),
    };
  }

  async warmUp(): Promise<void> {
    await this.load();
  }

  async close(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    if (!loading) return;
    const sessions = await loading;
    await Promise.all([sessions.detector.release(), sessions.recognizer.release(), sessions.classifier.release()]);
  }

  private load() {
    this.loading ??= (async () => {
      // ONNX Runtime (1.30) keeps usage telemetry: a device id and an event store under ~/.cache, a
      // log in TMPDIR. A service must not report on its own, nor write outside its volumes (a
      // read-only container refuses it); an operator who wants it sets ORT_DISABLE_TELEMETRY=0.
      process.env.ORT_DISABLE_TELEMETRY ??= '1';
      const ort = await import('onnxruntime-node');
      const options = (arena: boolean): InferenceSession.SessionOptions => ({
        intraOpNumThreads: this.options.threads,
        interOpNumThreads: 1,
        executionProviders: [...this.options.providers],
        enableCpuMemArena: arena,
        enableMemPattern: arena,
      });
      // Detection runs 2–3× faster with ONNX Runtime's arena (one input shape a page); recognition
      // gains nothing from it (every line's width differs) and would keep its largest line's memory.
      const [detector, recognizer, classifier] = await Promise.all([
        ort.InferenceSession.create(this.models.detection, options(true)),
        ort.InferenceSession.create(this.models.recognition, options(false)),
        ort.InferenceSession.create(this.models.classifier, options(false)),
      ]);
      // The model's classes: a blank, then the alphabet's lines, then a space.
      const alphabet = [
        ...readFileSync(this.models.alphabet, 'utf8')
          .split('\n')
          .filter((line) => line.length > 0),
        ' ',
      ];
      return {
        detector,
        recognizer,
        classifier,
        Tensor: ort.Tensor,
        alphabet,
      };
    })();
    this.loading.catch(() => (this.loading = undefined));
    return this.loading;
  }
}
