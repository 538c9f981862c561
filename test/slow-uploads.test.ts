import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { uploadsDir } from '@pagefleet/shared';
import { textPage } from '../scripts/lib/fixtures.js';
import { until } from '../scripts/lib/until.js';
import { startStack, type Stack } from './support/stack.js';

const KEY = 'k-slow-0123456789abcdef';
const OTHER = 'k-fast-0123456789abcdef';
const BOUNDARY = 'pagefleet-slow-upload';

interface SlowUpload {
  /** The raw answer, once the server has sent it and closed. */
  answer: Promise<string>;
  close(): void;
}

/**
 * A client that declares a 64 KiB multipart upload and sends its part headers at once, then the
 * file at `bytesPerSecond` (0: never), as a slowloris attacker or a dead link would.
 */
function slowUpload(stack: Stack, key: string, bytesPerSecond: number): SlowUpload {
  const { port } = new URL(stack.url);
  const head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`;
  const tail = `\r\n--${BOUNDARY}--\r\n`;
  const length = head.length + 65_536 + tail.length;
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.write(
    `POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\n` +
      `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${length}\r\n\r\n${head}`,
  );
  const timer = setInterval(() => {
    if (bytesPerSecond > 0 && socket.writable) socket.write(Buffer.alloc(bytesPerSecond, 0x41));
  }, 1000);
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  socket.on('error', () => undefined);
  return {
    answer: new Promise((resolve) =>
      socket.once('close', () => {
        clearInterval(timer);
        resolve(answer);
      }),
    ),
    close() {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

/** Waits until `condition` holds. */
const eventually = (what: string, condition: () => Promise<boolean>, timeoutMs: number) =>
  until(what, async () => ((await condition()) ? true : undefined), timeoutMs);

/**
 * What `count` fetch calls posting `size` bytes get, from a process of their own: in the test's
 * own process, client and server take turns on one event loop, and the client never meets a
 * connection closed while it still writes.
 */
function refusedFromAnotherProcess(stack: Stack, key: string, size: number, count: number): Promise<string[]> {
  const script = `
    const answers = [];
    for (let i = 0; i < ${count}; i++) {
      const form = new FormData();
      form.append('file', new Blob([Buffer.alloc(${size}, 1)]), 'a.png');
      try {
        const response = await fetch('${stack.url}/v1/jobs', { method: 'POST', body: form, headers: { authorization: 'Bearer ${key}' } });
        answers.push(response.status + ' ' + (await response.json()).code);
      } catch (err) {
        answers.push(String(err.cause?.code ?? err.message));
      }
    }
    console.log(JSON.stringify(answers));`;
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], (err: Error | null, stdout) =>
      err ? reject(err) : resolve(JSON.parse(stdout) as string[]),
    ),
  );
}

/** An ordinary upload of `data` under `key`. */
function submitAs(stack: Stack, key: string, data: Buffer): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([data]), 'a.png');
  return fetch(`${stack.url}/v1/jobs`, { method: 'POST', body: form, headers: { authorization: `Bearer ${key}` } });
}

const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);

describe('slow uploads', () => {
  let stack: Stack;
  let page: Buffer;
  before(async () => {
    stack = await startStack({
      API_KEYS: `${KEY},${OTHER}`,
      UPLOAD_GRACE_MS: '3000',
      UPLOAD_MIN_BYTES_PER_SECOND: '1024',
      MAX_CONCURRENT_UPLOADS: '64',
      UPLOADS_PER_CLIENT: '100',
    });
    page = await textPage(['Sent at a normal pace.']);
  });
  after(() => stack.stop());

  test('an upload that crawls, or stalls, is cut with 408 problem+json and its file removed', async () => {
    const started = Date.now();
    const [crawling, stalled] = [slowUpload(stack, KEY, 3), slowUpload(stack, KEY, 0)];
    for (const answer of await Promise.all([crawling.answer, stalled.answer])) {
      assert.equal(statusOf(answer), 408);
      assert.match(answer, /application\/problem\+json/);
      assert.match(answer, /UPLOAD_MIN_BYTES_PER_SECOND/);
    }
    assert.ok(Date.now() - started < 10_000, 'cut soon after UPLOAD_GRACE_MS, not at a server timeout');
    await eventually(
      'the cut uploads removed',
      async () => (await readdir(uploadsDir(stack.config.DATA_DIR))).length === 0,
      5000,
    );
  });

  test('70 crawling clients: a normal upload gets in within 30 s', async () => {
    const attackers = Array.from({ length: 70 }, () => slowUpload(stack, KEY, 3));
    try {
      // Until the slots are all taken, the attack has not begun.
      await eventually('every slot taken', async () => (await submitAs(stack, OTHER, page)).status === 503, 10_000);
      const attackedAt = Date.now();
      let status = 0;
      while (status !== 202) {
        assert.ok(Date.now() - attackedAt < 30_000, `still ${status} 30 s into the attack`);
        const response = await submitAs(stack, OTHER, page);
        status = response.status;
        if (status === 503) {
          assert.ok(Number(response.headers.get('retry-after')) > 0);
          await new Promise((resolve) => setTimeout(resolve, Number(response.headers.get('retry-after')) * 1000));
        }
      }
      const answers = await Promise.all(attackers.map((attacker) => attacker.answer));
      assert.ok(
        answers.every((answer) => [408, 503].includes(statusOf(answer))),
        'every attacker was cut (408) or refused (503)',
      );
    } finally {
      for (const attacker of attackers) attacker.close();
    }
  });

  test('a refusal sent before the body is read reaches fetch as an answer, not EPIPE', async () => {
    const holders = Array.from({ length: 64 }, () => slowUpload(stack, KEY, 2048));
    try {
      await eventually('every slot taken', async () => (await submitAs(stack, OTHER, page)).status === 503, 10_000);
      // Closing at once made fetch fail with EPIPE nearly every time for bodies of megabytes.
      for (const size of [100_000, 5_000_000, 50_000_000]) {
        assert.deepEqual(
          await refusedFromAnotherProcess(stack, OTHER, size, 5),
          Array(5).fill('503 busy'),
          `${size} bytes`,
        );
      }
    } finally {
      for (const holder of holders) holder.close();
    }
  });
});

describe('uploads per client', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ API_KEYS: `${KEY},${OTHER}`, UPLOADS_PER_CLIENT: '2' });
  });
  after(() => stack.stop());

  test('past UPLOADS_PER_CLIENT, a key gets 429 with Retry-After; another key still gets in', async () => {
    const mine = [slowUpload(stack, KEY, 2048), slowUpload(stack, KEY, 2048)];
    try {
      const page = await textPage(['Another tenant.']);
      const post = (key: string) => submitAs(stack, key, page);
      await eventually('both uploads in progress', async () => (await post(KEY)).status === 429, 5000);
      const refused = await post(KEY);
      assert.equal(refused.status, 429);
      assert.equal(((await refused.json()) as { code: string }).code, 'too_many_uploads');
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
      assert.equal((await post(OTHER)).status, 202);
    } finally {
      for (const upload of mine) upload.close();
    }
  });
});
