import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** When, where and on which pages a figure was measured. */
const measuredSchema = z.object({ at: z.string(), on: z.string(), pages: z.string() });

/**
 * What a worker process and each of its slots cost in memory, as measured by
 * `npm run bench:memory`, which writes apps/worker/memory-profile.json. Never edited by hand.
 */
export const memoryProfileSchema = z.object({
  /** Peak RSS of a worker process with no slot: Node, its modules, the compiled OCR engine. */
  baseBytes: z.number().positive(),
  /** Peak RSS each slot adds, on pages of `slotPixels` pixels. */
  slotBytes: z.number().positive(),
  slotPixels: z.number().positive(),
  /** What a slot costs per pixel of page beyond `slotPixels`. */
  bytesPerPixel: z.number().nonnegative(),
  measured: measuredSchema,
  /** PaddleOCR (bench:paddle-memory): what its loaded models add to a process, and each slot reading with it. */
  paddle: z
    .object({
      baseBytes: z.number().positive(),
      slotBytes: z.number().positive(),
      measured: measuredSchema,
    })
    .optional(),
  /**
   * A tesseract.js thread kept beside Tesseract's command for hybrid pages' images
   * (bench:region-memory): what it adds to a process reading regions of up to `maxPixels`.
   */
  regionThread: z
    .object({
      bytes: z.number().positive(),
      maxPixels: z.number().positive(),
      measured: measuredSchema,
    })
    .optional(),
});
export type MemoryProfile = z.infer<typeof memoryProfileSchema>;

// The same file from src/capacity (tests) and dist/capacity (production).
export const MEMORY_PROFILE_FILE = fileURLToPath(new URL('../../memory-profile.json', import.meta.url));

export function loadMemoryProfile(file = MEMORY_PROFILE_FILE): MemoryProfile {
  return memoryProfileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** Memory one slot needs for pages of up to `pixels` pixels. */
export const slotBytesFor = (profile: MemoryProfile, pixels: number) =>
  profile.slotBytes + Math.max(0, pixels - profile.slotPixels) * profile.bytesPerPixel;
