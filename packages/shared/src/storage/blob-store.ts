import type { Readable } from 'node:stream';

export interface BlobInfo {
  key: string;
  size: number;
  modified: Date;
}

/** Bytes `start` to `end`, both included (HTTP's Range); `end` unset: to the object's end. */
export interface ByteRange {
  start: number;
  end?: number;
}

/**
 * Where every byte of a document is kept: inputs, page results and outputs, text, the document
 * PDF and its saved state. Keys are `/`-separated and chosen by the ledger, never by a client.
 * Only uploads being received and the page a worker is working on are on local disk.
 */
export interface BlobStore {
  /** What the store is, for logs and errors: a folder, a bucket. */
  readonly location: string;
  /** True when objects are files every process opens in place (localFile copies nothing). */
  readonly keepsFiles: boolean;
  /** Stores `body` at `key`: readers see the old object or the new one, never part of one. */
  put(key: string, body: Buffer | string | Readable): Promise<void>;
  /** Moves a local file into the store: the file is gone once this resolves. */
  putFile(key: string, file: string): Promise<void>;
  /** The object's bytes, or those of `range`; undefined when there is no such object. */
  get(key: string, range?: ByteRange): Promise<Readable | undefined>;
  head(key: string): Promise<BlobInfo | undefined>;
  /** Every object whose key starts with `prefix`, in no promised order. */
  list(prefix: string): AsyncIterable<BlobInfo>;
  /** The names one level below `prefix` (which ends with `/`): `jobs/` lists document ids. */
  children(prefix: string): AsyncIterable<string>;
  /** Removes every object under `prefix`; resolves with how many there were. */
  deletePrefix(prefix: string): Promise<number>;
  /**
   * A local file holding the object, for tools that need a path (pdftoppm, qpdf): the store's own
   * file where it keeps one, else `scratch`, written from the store (the caller removes it).
   * Undefined when there is no such object.
   */
  localFile(key: string, scratch: string): Promise<string | undefined>;
  /** Whether the store answers now (`/ready`): the folder takes writes, the bucket is there; never throws. */
  ready(): Promise<boolean>;
}

/** Files being written end so; such names are never keys. */
export const TEMP_SUFFIX = '.tmp';
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Checks a key: `/`-separated names of letters, digits, `.`, `_`, `-`, none hidden or a temp file. */
export function checkKey(key: string): string {
  if (!key.split('/').every((segment) => SEGMENT.test(segment) && !segment.endsWith(TEMP_SUFFIX))) {
    throw new Error(`not a storage key: ${JSON.stringify(key)}`);
  }
  return key;
}

/** Checks a prefix: empty, or keys' leading names each followed by `/`, the last one maybe partial. */
export function checkPrefix(prefix: string): string {
  if (prefix !== '') checkKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}

/** A small object whole, or undefined when there is none. */
export async function readBlob(store: BlobStore, key: string): Promise<Buffer | undefined> {
  const stream = await store.get(key);
  if (!stream) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
