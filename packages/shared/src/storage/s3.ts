import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { UnavailableError } from '../errors.js';
import { checkKey, checkPrefix, type BlobInfo, type BlobStore, type ByteRange } from './blob-store.js';

export interface S3Options {
  bucket: string;
  /** Put before every key: several deployments can share a bucket. */
  prefix: string;
  /** An S3-compatible server (SeaweedFS, Garage, Ceph); unset, AWS. */
  endpoint?: string | undefined;
  region: string;
  /** `bucket` in the path, not the host name: what most S3-compatible servers need. */
  forcePathStyle: boolean;
}

/** Files up to this size go in one streamed PUT; larger ones in parts (retried one by one). */
const SINGLE_PUT_BYTES = 16 * 1024 * 1024;
/** Each part is held in memory while it is sent: two of 8 MiB per upload at most. */
const PART_BYTES = 8 * 1024 * 1024;
const PARTS_AT_ONCE = 2;
/** DeleteObjects takes at most 1000 keys. */
const DELETE_BATCH = 1000;

/** Socket errors that mean the server is away, not that it refused. */
const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

const statusOf = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

const isNotFound = (err: unknown) => {
  const { name } = err as { name?: string };
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(err) === 404;
};

/**
 * What callers are told when S3 fails: an outage (no answer, 5xx, throttling: the SDK has already
 * retried) is an UnavailableError, which the API answers with 503 and workers retry; anything the
 * server refused (403, a bad request) is left as it is.
 */
function storageError(err: unknown): unknown {
  const status = statusOf(err);
  const { code, name } = err as { code?: string; name?: string };
  const outage =
    status === undefined
      ? (code !== undefined && NETWORK_ERRORS.has(code)) || name === 'TimeoutError'
      : status >= 500 || status === 408 || status === 429;
  if (!outage) return err;
  const error = new UnavailableError(`object storage did not answer (${(err as Error).message}); retry shortly`);
  error.cause = err;
  return error;
}

/** The S3 client pagefleet uses, for AWS and S3-compatible servers alike. */
export function createS3Client(options: S3Options): S3Client {
  return new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle,
    // S3-compatible servers reject the SDK's default trailing checksums; send and check them
    // only where the API requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // An unreachable endpoint fails in seconds, so that callers retry or answer 503, never hang.
    requestHandler: { connectionTimeout: 3000, requestTimeout: 60_000 },
    maxAttempts: 3,
  });
}

/**
 * Objects in an S3 bucket (`S3_BUCKET`, under `S3_PREFIX`). Credentials come from the AWS SDK's
 * default chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, web identity, instance roles.
 */
export class S3Store implements BlobStore {
  readonly location: string;
  readonly keepsFiles = false;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(
    options: S3Options,
    private readonly client = createS3Client(options),
  ) {
    this.bucket = options.bucket;
    this.prefix = options.prefix === '' || options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
    this.location = `s3://${options.bucket}/${this.prefix}`;
  }

  private key(key: string): string {
    return this.prefix + checkKey(key);
  }

  /** Runs one S3 call; a missing object resolves undefined, an outage rejects with UnavailableError. */
  private async call<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw storageError(err);
    }
  }

  async put(key: string, body: Buffer | string | Readable): Promise<void> {
    const params = { Bucket: this.bucket, Key: this.key(key), Body: body };
    await this.call(() =>
      typeof body === 'string' || Buffer.isBuffer(body)
        ? this.client.send(new PutObjectCommand(params))
        : new Upload({ client: this.client, params, partSize: PART_BYTES, queueSize: PARTS_AT_ONCE }).done(),
    );
  }

  async putFile(key: string, file: string): Promise<void> {
    const { size } = await stat(file);
    if (size <= SINGLE_PUT_BYTES) {
      await this.call(() =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key(key),
            Body: createReadStream(file),
            ContentLength: size,
          }),
        ),
      );
    } else {
      await this.put(key, createReadStream(file));
    }
    await rm(file, { force: true });
  }

  async get(key: string, range?: ByteRange): Promise<Readable | undefined> {
    const object = await this.call(() =>
      this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}),
        }),
      ),
    );
    return object?.Body as Readable | undefined;
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    const object = await this.call(() =>
      this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) })),
    );
    return object && { key, size: object.ContentLength ?? 0, modified: object.LastModified ?? new Date(0) };
  }

  /** One page of a listing at a time (1000 keys): a bucket of any size is never listed whole. */
  private async *pages(prefix: string, delimiter?: string) {
    let token: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + checkPrefix(prefix),
            ...(delimiter ? { Delimiter: delimiter } : {}),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      if (!page) return;
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    for await (const page of this.pages(prefix)) {
      for (const object of page.Contents ?? []) {
        if (!object.Key) continue;
        yield {
          key: object.Key.slice(this.prefix.length),
          size: object.Size ?? 0,
          modified: object.LastModified ?? new Date(0),
        };
      }
    }
  }

  async *children(prefix: string): AsyncIterable<string> {
    const start = this.prefix.length + prefix.length;
    for await (const page of this.pages(prefix, '/')) {
      for (const common of page.CommonPrefixes ?? []) {
        if (common.Prefix) yield common.Prefix.slice(start, -1);
      }
      for (const object of page.Contents ?? []) if (object.Key) yield object.Key.slice(start);
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    let removed = 0;
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const keys = batch;
      await this.call(() =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      removed += batch.length;
      batch = [];
    };
    for await (const { key } of this.list(prefix)) {
      batch.push(this.prefix + key);
      if (batch.length === DELETE_BATCH) await flush();
    }
    await flush();
    return removed;
  }

  async localFile(key: string, scratch: string): Promise<string | undefined> {
    const body = await this.get(key);
    if (!body) return undefined;
    await mkdir(path.dirname(scratch), { recursive: true });
    try {
      await pipeline(body, createWriteStream(scratch));
    } catch (err) {
      await rm(scratch, { force: true });
      throw storageError(err);
    }
    return scratch;
  }

  async ready(): Promise<boolean> {
    return this.client.send(new HeadBucketCommand({ Bucket: this.bucket })).then(
      () => true,
      () => false,
    );
  }

  /** Why the bucket cannot be used, or undefined when it can: checked at start. */
  async problem(): Promise<string | undefined> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return undefined;
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return `S3_BUCKET: there is no bucket ${this.bucket}`;
      if (status === 403) return `S3_BUCKET: access to bucket ${this.bucket} is denied with these credentials`;
      return undefined;
    }
  }
}
