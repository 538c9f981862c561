import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ConfigError, FilesystemStore, loadConfig, openBlobStore, readBlob, type BlobStore } from '@pagefleet/shared';
import { startS3Server } from '../scripts/lib/s3-server.js';
import { useS3Credentials } from './support/s3.js';

/** A store to run the contract against, and how to take it down. */
interface StoreUnderTest {
  store: BlobStore;
  stop(): Promise<void>;
}

const text = async (stream: Readable | undefined) =>
  stream ? Buffer.concat(await stream.toArray()).toString() : undefined;

/** What every blob store does, whatever keeps the bytes. */
function contract(name: string, start: () => Promise<StoreUnderTest>) {
  describe(`blob store contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: BlobStore;
    let scratch: string;
    before(async () => {
      subject = await start();
      store = subject.store;
      scratch = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-scratch-'));
    });
    after(async () => {
      await subject.stop();
      await rm(scratch, { recursive: true, force: true });
    });

    test('put and get: buffers, strings and streams; a missing key is undefined', async () => {
      await store.put('a/one.txt', 'one');
      await store.put('a/two.bin', Buffer.from([0, 1, 2, 255]));
      await store.put('a/three.txt', Readable.from(['th', 're', 'e']));
      assert.equal(await text(await store.get('a/one.txt')), 'one');
      assert.deepEqual(await readBlob(store, 'a/two.bin'), Buffer.from([0, 1, 2, 255]));
      assert.equal(await text(await store.get('a/three.txt')), 'three');
      assert.equal(await store.get('a/none.txt'), undefined);
      assert.equal(await readBlob(store, 'a/none.txt'), undefined);
      await store.put('a/one.txt', 'replaced');
      assert.equal(await text(await store.get('a/one.txt')), 'replaced');
    });

    test('byte ranges, and head', async () => {
      await store.put('r/digits', '0123456789');
      assert.equal(await text(await store.get('r/digits', { start: 2, end: 4 })), '234');
      assert.equal(await text(await store.get('r/digits', { start: 7 })), '789');
      const info = await store.head('r/digits');
      assert.equal(info?.size, 10);
      assert.ok(info && Date.now() - info.modified.getTime() < 60_000);
      assert.equal(await store.head('r/none'), undefined);
    });

    test('putFile takes the local file; localFile gives a path to its bytes', async () => {
      const file = path.join(scratch, 'upload');
      await writeFile(file, 'uploaded');
      await store.putFile('f/0.pdf', file);
      assert.equal(existsSync(file), false, 'the local file is gone');
      const local = await store.localFile('f/0.pdf', path.join(scratch, 'copy.pdf'));
      assert.ok(local);
      assert.equal(await readFile(local, 'utf8'), 'uploaded');
      assert.equal(await store.localFile('f/none.pdf', path.join(scratch, 'none.pdf')), undefined);
    });

    test('list, children and deletePrefix', async () => {
      for (const key of ['p/x/1', 'p/x/2', 'p/y/1', 'p/z', 'q/1']) await store.put(key, key);
      const listed = [];
      for await (const { key, size } of store.list('p/x/')) listed.push([key, size]);
      assert.deepEqual(listed.sort(), [
        ['p/x/1', 5],
        ['p/x/2', 5],
      ]);
      const children = [];
      for await (const child of store.children('p/')) children.push(child);
      assert.deepEqual(children.sort(), ['x', 'y', 'z']);
      assert.equal(await store.deletePrefix('p/x/'), 2);
      assert.equal(await store.head('p/x/1'), undefined);
      assert.ok(await store.head('p/y/1'));
      assert.ok(await store.head('q/1'));
      assert.equal(await store.deletePrefix('p/none/'), 0);
    });

    test('is ready', async () => {
      assert.equal(await store.ready(), true);
    });
  });
}

contract('filesystem', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-blobs-'));
  return { store: new FilesystemStore(dir), stop: () => rm(dir, { recursive: true, force: true }) };
});

contract('S3 (s3rver), under a key prefix', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-s3-'));
  const server = await startS3Server(dir, 'contract');
  useS3Credentials(server);
  const store = await openBlobStore(loadConfig({ ...server.env, S3_PREFIX: 'deployment-a/' }));
  // Another deployment's objects in the same bucket are never listed nor removed.
  const other = await openBlobStore(loadConfig({ ...server.env, S3_PREFIX: 'deployment-b/' }));
  await other.put('p/x/1', 'not ours');
  return {
    store,
    async stop() {
      assert.equal(await readBlob(other, 'p/x/1').then(String), 'not ours');
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

test('a missing bucket is a start-up error naming S3_BUCKET', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-s3-'));
  const server = await startS3Server(dir, 'present');
  t.after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });
  useS3Credentials(server);
  await assert.rejects(openBlobStore(loadConfig({ ...server.env, S3_BUCKET: 'absent' })), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /S3_BUCKET: there is no bucket absent/);
    return true;
  });
  assert.throws(() => loadConfig({ STORAGE: 's3' }), /S3_BUCKET is required with STORAGE=s3/);
});

test('the filesystem store refuses keys that would leave its folder', async () => {
  const store = new FilesystemStore(path.join(os.tmpdir(), 'pagefleet-never-written'));
  for (const key of ['../etc/passwd', '/abs', 'a/../../b', 'a//b', 'a/.hidden', 'a/b.tmp']) {
    await assert.rejects(store.put(key, 'x'), /not a storage key/, key);
  }
});
