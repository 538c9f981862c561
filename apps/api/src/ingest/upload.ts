import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import multer from 'multer';
import type { Config } from '@pagefleet/shared';

/** Form field that carries the files of a document. */
export const FILE_FIELD = 'file';

/**
 * Streams each file straight to disk under DATA_DIR/uploads with a name of our own; nothing is
 * held in memory. On any error multer removes what it already wrote. The folder is made again
 * for each file: one removed under a running API (a tmp cleaner, an operator) costs nothing.
 */
export function uploadMiddleware(config: Config, uploadsDir: string) {
  return multer({
    storage: multer.diskStorage({
      destination: (_req, _file, done) => {
        mkdir(uploadsDir, { recursive: true }).then(
          () => done(null, uploadsDir),
          (err: unknown) => done(err as Error, uploadsDir),
        );
      },
      filename: (_req, _file, done) => done(null, randomUUID()),
    }),
    limits: {
      fileSize: config.MAX_FILE_BYTES,
      files: config.MAX_FILES,
      fields: 10,
      fieldSize: 1024,
      parts: config.MAX_FILES + 10,
      headerPairs: 20,
    },
  }).array(FILE_FIELD, config.MAX_FILES);
}
