import type { Config } from '../config.js';
import { ConfigError } from '../config.js';
import type { BlobStore } from './blob-store.js';
import { FilesystemStore } from './filesystem.js';

/**
 * The blob store STORAGE names. A bucket that does not exist, or that these credentials may not
 * use, is a ConfigError naming S3_BUCKET; one that cannot be reached now is not (the store is
 * unready until it can: `/ready`).
 */
export async function openBlobStore(
  config: Pick<
    Config,
    'STORAGE' | 'DATA_DIR' | 'S3_BUCKET' | 'S3_PREFIX' | 'S3_ENDPOINT' | 'S3_REGION' | 'S3_FORCE_PATH_STYLE'
  >,
): Promise<BlobStore> {
  if (config.STORAGE === 'filesystem') return new FilesystemStore(config.DATA_DIR);
  // Loaded only here: the AWS SDK costs every process that never uses it memory and start-up time.
  const { S3Store } = await import('./s3.js');
  const store = new S3Store({
    bucket: config.S3_BUCKET ?? '',
    prefix: config.S3_PREFIX,
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
  });
  const problem = await store.problem();
  if (problem) throw new ConfigError(`invalid configuration\n  ${problem}`);
  return store;
}
