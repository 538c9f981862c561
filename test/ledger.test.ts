import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import {
  createLogger,
  DocumentLedger,
  documentKeys,
  EventBell,
  loadConfig,
  type Door,
  FilesystemStore,
  failureFromMessage,
  type BlobStore,
  type PageResult,
} from '@pagefleet/shared';
import { rung } from './support/bell.js';
import { startRedis, type TestRedis } from './support/redis.js';

const result = (page: number, text: string): PageResult => ({
  page,
  status: 'completed',
  method: 'ocr',
  text,
  confidence: 90,
  words: [],
});

describe('the document ledger: fenced page results', () => {
  let redis: TestRedis;
  let client: Redis;
  let dir: string;
  let blobs: BlobStore;
  let ledger: DocumentLedger;
  let bell: EventBell;
  let prefix: string;
  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-ledger-'));
    blobs = new FilesystemStore(dir);
    prefix = `test-${randomUUID()}`;
    ledger = new DocumentLedger(client, blobs, { prefix, ttlSeconds: 600, ingestLeaseMs: 60_000 });
    bell = new EventBell(new Redis(redis.url), prefix, createLogger(loadConfig({ LOG_LEVEL: 'silent' }), 'test'));
    await bell.subscribed;
  });
  after(async () => {
    bell.close();
    client.disconnect();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function newDocument(pageCount = 2): Promise<string> {
    const id = randomUUID();
    const pending = await ledger.create(
      {
        id,
        pageCount,
        pages: `1-${pageCount}`,
        languages: 'eng',
        dpi: 300,
        createdAt: new Date().toISOString(),
        outputs: ['text', 'json', 'hocr'],
      },
      [],
    );
    assert.equal(await pending.accept(), true);
    return id;
  }

  const storedPages = async (id: string) => {
    const keys: string[] = [];
    for await (const { key } of blobs.list(`${documentKeys(id).root}pages/`)) keys.push(path.basename(key));
    return keys.sort();
  };

  test('an attempt whose page was taken over records nothing and leaves no file', async () => {
    const id = await newDocument();
    const paused = await ledger.pageStarted(id, 1, 'worker', 0);
    const takeover = await ledger.pageStarted(id, 1, 'worker', 0);
    assert.ok(paused && takeover);
    assert.equal(
      await ledger.pageCompleted(takeover, result(1, 'the one recorded'), { hocr: Buffer.from('<p/>') }),
      'recorded',
    );
    assert.equal(
      await ledger.pageCompleted(paused, result(1, 'a zombie'), { hocr: Buffer.from('<zombie/>') }),
      'superseded',
    );
    assert.equal((await ledger.pageResult(id, 1))?.text, 'the one recorded');
    const hocr = await ledger.pageOutput(id, 1, 'hocr');
    assert.ok(hocr);
    assert.equal((await hocr.toArray()).join(''), '<p/>');
    assert.deepEqual(await storedPages(id), ['000001.2.hocr', '000001.2.json']);
    assert.equal((await ledger.read(id))?.pagesDone, 1);
  });

  test('once a document has ended, no attempt records a page', async () => {
    const id = await newDocument();
    const late = await ledger.pageStarted(id, 2, 'worker', 0);
    const first = await ledger.pageStarted(id, 1, 'worker', 0);
    assert.ok(late && first);
    assert.equal(await ledger.pageCompleted(first, result(1, 'done'), {}), 'recorded');
    await ledger.pageFailed(id, 2, { reason: 'error', error: 'gave up' });
    await ledger.storeText(id, Readable.from(['done\f']));
    assert.equal(await ledger.finish(id, 'partial', '1 of 2 pages failed'), true);
    assert.equal(await ledger.finish(id, 'completed'), false, 'a document ends once');
    await ledger.saveFinished(id);

    assert.notEqual(await ledger.pageCompleted(late, result(2, 'too late'), {}), 'recorded');
    assert.equal(await ledger.pageStarted(id, 2, 'worker', 0), undefined, 'no new attempt starts');
    const doc = await ledger.read(id);
    assert.deepEqual([doc?.status, doc?.pagesDone, doc?.pagesFailed], ['partial', 1, 1]);
    assert.equal((await ledger.pageResult(id, 2))?.status, 'failed');
    assert.ok((await blobs.head(documentKeys(id).state)) !== undefined, 'its state is saved beside its files');
  });

  test("every event written rings the doors of its document's streams, and only theirs", async () => {
    const id = await newDocument();
    const other = await newDocument();
    const door = bell.door(id);
    const otherDoor = bell.door(other);
    const giveUp = new AbortController();
    const timer = setTimeout(() => giveUp.abort(), 30_000);
    const opens = (each: Door) => rung(each, giveUp.signal);
    let otherOpened = false;
    const otherOpens = opens(otherDoor).then((rung) => (otherOpened = rung));
    try {
      const claim = await ledger.pageStarted(id, 1, 'worker', 0);
      assert.ok(claim);
      await ledger.pageCompleted(claim, result(1, 'done'), {});
      assert.equal(await opens(door), true, 'a page completed');
      await ledger.pageFailed(id, 2, { reason: 'error', error: 'gave up' });
      assert.equal(await opens(door), true, 'a page failed');
      await ledger.finish(id, 'partial', '1 of 2 pages failed');
      assert.equal(await opens(door), true, 'the document ended');
      // The rings came in order on one connection: the other document's would have come first.
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(otherOpened, false);
      await ledger.cancel(other);
      assert.equal(await otherOpens, true, 'the other document was canceled');
    } finally {
      clearTimeout(timer);
      giveUp.abort();
      door.close();
      otherDoor.close();
    }
  });

  test('a Redis user whose ACL grants no channels records pages and ends documents all the same', async () => {
    await client.call('ACL', 'SETUSER', 'no-channels', 'on', '>secret', `~${prefix}:*`, 'resetchannels', '+@all');
    const restricted = new Redis(redis.url, { username: 'no-channels', password: 'secret' });
    try {
      const own = new DocumentLedger(restricted, blobs, { prefix, ttlSeconds: 600, ingestLeaseMs: 60_000 });
      const id = await newDocument();
      const claim = await own.pageStarted(id, 1, 'worker', 0);
      assert.ok(claim);
      assert.equal(await own.pageCompleted(claim, result(1, 'done'), {}), 'recorded');
      assert.equal(await own.finish(id, 'partial', '1 of 2 pages never ran'), true);
      assert.deepEqual(
        (await own.events(id, '0', 10)).map((event) => event.type),
        ['page', 'end'],
      );
    } finally {
      restricted.disconnect();
    }
  });

  test('each claim names the previous claimer and the stalls since; deaths are counted only when told', async () => {
    const id = await newDocument();
    const first = await ledger.pageStarted(id, 1, 'worker-a', 0);
    assert.deepEqual([first?.previousWorker, first?.newStalls, first?.deaths], [undefined, 0, 0]);
    // worker-a's lock expired: BullMQ counts a stall, worker-b claims the page.
    const second = await ledger.pageStarted(id, 1, 'worker-b', 1);
    assert.deepEqual([second?.previousWorker, second?.newStalls, second?.deaths], ['worker-a', 1, 0]);
    assert.ok(second);
    assert.equal(await ledger.pageDied(second, 1), 1);
    // A retry after an error, no new stall: nothing to count.
    const third = await ledger.pageStarted(id, 1, 'worker-c', 1);
    assert.deepEqual([third?.previousWorker, third?.newStalls, third?.deaths], ['worker-b', 0, 1]);
  });

  test('a failure ends the running claim and keeps the first reason given; a completed page keeps its result', async () => {
    const id = await newDocument();
    const running = await ledger.pageStarted(id, 1, 'worker', 0);
    assert.ok(running);
    await ledger.pageFailed(id, 1, { reason: 'timeout', error: 'page timed out', stage: 'ocr' });
    await ledger.pageFailed(id, 1, failureFromMessage('job failed somewhere'));
    assert.equal(await ledger.pageCompleted(running, result(1, 'after its failure'), {}), 'superseded');
    assert.deepEqual(await ledger.pageResult(id, 1), {
      page: 1,
      status: 'failed',
      text: '',
      confidence: 0,
      words: [],
      reason: 'timeout',
      error: 'page timed out',
      stage: 'ocr',
    });

    const done = await ledger.pageStarted(id, 2, 'worker', 0);
    assert.ok(done);
    await ledger.pageCompleted(done, result(2, 'read'), {});
    await ledger.pageFailed(id, 2, failureFromMessage('job stalled more than allowable limit'));
    assert.equal((await ledger.pageResult(id, 2))?.text, 'read');
    const doc = await ledger.read(id);
    assert.deepEqual([doc?.pagesDone, doc?.pagesFailed], [1, 1]);
  });

  test('each page ending appears once in the event stream, with counts that never pass the page count', async () => {
    const id = await newDocument(1);
    for (let i = 0; i < 3; i++) {
      const claim = await ledger.pageStarted(id, 1, 'worker', 0);
      assert.ok(claim);
      await ledger.pageCompleted(claim, result(1, `attempt ${i}`), {});
    }
    const events = await ledger.events(id, '0', 10);
    assert.deepEqual(
      events.map((event) => (event.type === 'page' ? [event.page, event.pagesDone] : [])),
      [[1, 1]],
    );
  });

  test('cancel removes what the document stored but its state; reconcile removes only what its own state expired', async () => {
    const upload = path.join(dir, 'upload.png');
    const canceled = randomUUID();
    await writeFile(upload, 'png bytes');
    const pending = await ledger.create(
      {
        id: canceled,
        pageCount: 1,
        pages: '1',
        languages: 'eng',
        dpi: 300,
        createdAt: new Date().toISOString(),
        outputs: ['text'],
      },
      [{ name: '0.png', file: upload }],
    );
    assert.equal(await pending.accept(), true);
    assert.ok(await blobs.head(documentKeys(canceled).input('0.png')));
    const running = await ledger.pageStarted(canceled, 1, 'worker', 0);
    assert.ok(running);
    await ledger.cancel(canceled);
    assert.equal(await ledger.pageCompleted(running, result(1, 'canceled meanwhile'), {}), 'ended');
    assert.deepEqual(await storedPages(canceled), []);
    assert.equal(await blobs.head(documentKeys(canceled).input('0.png')), undefined);
    assert.equal((await ledger.read(canceled))?.status, 'canceled');

    // A folder with no saved state Redis does not know: an ingest that died with its Redis state.
    const abandoned = randomUUID();
    await blobs.put(documentKeys(abandoned).text, 'left behind');
    const kept = await newDocument();
    await blobs.put(documentKeys(kept).text, 'still known');
    assert.deepEqual(await ledger.reconcile(), { expired: 0, recovered: 0 }, 'nothing is due yet');
    assert.ok(await blobs.head(documentKeys(canceled).state), 'a canceled document is kept until RESULT_TTL');
    assert.ok((await ledger.reconcile(Date.now() + 601_000)).expired >= 1);
    assert.equal(await blobs.head(documentKeys(canceled).state), undefined, 'and removed after it, by its own time');
    assert.ok(await blobs.head(documentKeys(abandoned).text), 'an hour has not passed');
    assert.ok((await ledger.reconcile(Date.now() + 2 * 3_600_000)).expired >= 1);
    assert.equal(await blobs.head(documentKeys(abandoned).text), undefined);
    assert.ok(await blobs.head(documentKeys(kept).text), 'a running document stays');
  });
});
