import path from 'node:path';

/** multer writes incoming files here; the API moves accepted ones into the blob store. */
export const uploadsDir = (dataDir: string) => path.join(dataDir, 'uploads');

/** A worker's local copies of what its pages need, removed when each attempt ends. */
export const scratchDir = (dataDir: string) => path.join(dataDir, 'scratch');
