import { randomBytes } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { access, copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkKey, TEMP_SUFFIX, type BlobInfo, type BlobStore, type ByteRange } from './blob-store.js';

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Objects as files under a folder (DATA_DIR): key `jobs/<id>/text.txt` is `<root>/jobs/<id>/text.txt`. */
export class FilesystemStore implements BlobStore {
  readonly location: string;
  readonly keepsFiles = true;

  constructor(private readonly root: string) {
    this.location = root;
  }

  /** The file of a key; a key that could leave the root (`..`, an absolute path) is refused. */
  private file(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'));
  }

  private folder(prefix: string): string {
    return prefix === '' ? this.root : this.file(prefix.replace(/\/$/, ''));
  }

  async put(key: string, body: Buffer | string | Readable): Promise<void> {
    const target = this.file(key);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
    try {
      if (body instanceof Readable) await pipeline(body, createWriteStream(temp));
      else await writeFile(temp, body);
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async putFile(key: string, file: string): Promise<void> {
    const target = this.file(key);
    await mkdir(path.dirname(target), { recursive: true });
    try {
      await rename(file, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      // Uploads on another filesystem than the store: copied, then removed.
      await copyFile(file, target);
      await rm(file, { force: true });
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable | undefined> {
    const stream = createReadStream(this.file(key), range ?? {});
    try {
      await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
      return stream;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    try {
      const info = await stat(this.file(key));
      return info.isFile() ? { key, size: info.size, modified: info.mtime } : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    // The folder holding the prefix, then every file below it whose key starts with the prefix.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    const entries = await readdir(this.folder(base), { recursive: true, withFileTypes: true }).catch((err) => {
      if (isMissing(err)) return [];
      throw err;
    });
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.endsWith(TEMP_SUFFIX)) continue;
      const key = path.relative(this.root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
      if (!key.startsWith(prefix)) continue;
      const info = await stat(path.join(entry.parentPath, entry.name)).catch(() => undefined);
      if (info) yield { key, size: info.size, modified: info.mtime };
    }
  }

  async *children(prefix: string): AsyncIterable<string> {
    const entries = await readdir(this.folder(prefix)).catch((err) => {
      if (isMissing(err)) return [];
      throw err;
    });
    yield* entries.filter((name) => !name.endsWith(TEMP_SUFFIX) && !name.startsWith('.'));
  }

  async deletePrefix(prefix: string): Promise<number> {
    let count = 0;
    const keys: string[] = [];
    for await (const { key } of this.list(prefix)) keys.push(key);
    for (const key of keys) {
      await rm(this.file(key), { force: true });
      count++;
    }
    // A whole folder's prefix takes the folder, and any temp file left in it by a crash.
    if (prefix.endsWith('/')) await rm(this.folder(prefix), { recursive: true, force: true });
    return count;
  }

  async localFile(key: string): Promise<string | undefined> {
    return (await this.head(key)) ? this.file(key) : undefined;
  }

  async ready(): Promise<boolean> {
    await mkdir(this.root, { recursive: true }).catch(() => undefined);
    return access(this.root, constants.W_OK).then(
      () => true,
      () => false,
    );
  }
}
