/**
 * Environment of every worker process started by this repo (npm start, benchmarks; the images do
 * the same). glibc gives each thread that allocates its own malloc arena; a worker has many
 * (libuv, libvips, one per tesseract slot) and the arenas' free pages add to RSS. With two,
 * one slot OCRing letter pages peaked at 248 MB instead of 284 MB.
 */
export const WORKER_PROCESS_ENV = { MALLOC_ARENA_MAX: '2' } as const;
