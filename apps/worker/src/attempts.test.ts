import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnrecoverableError, type Job } from 'bullmq';
import { PageGivenUpError, WORKER_DEATHS } from '@pagefleet/shared';
import { decideEnd, endOf } from './attempts.js';
import { PageTimeoutError } from './pipeline/deadline.js';

/** A job as BullMQ hands it to a processor: `attemptsMade` does not count the attempt running. */
const job = (attemptsMade: number, attempts = 3) => ({ attemptsMade, opts: { attempts } }) as unknown as Job;

test('an attempt is final when it is the last one or can never succeed; the failed event reads the same decision', () => {
  const first = new Error('pdftoppm exited with 1');
  assert.deepEqual(decideEnd(job(0), first), { final: false, failure: { reason: 'error', error: first.message } });
  assert.equal(endOf(first).final, false, 'BullMQ has counted the attempt by then: the decision is not made again');
  const last = new PageTimeoutError('ocr', 1000);
  assert.deepEqual(decideEnd(job(2), last), {
    final: true,
    failure: { reason: 'timeout', error: last.message, stage: 'ocr' },
  });
  assert.equal(decideEnd(job(0), new UnrecoverableError('malformed page job')).final, true);
  assert.deepEqual(decideEnd(job(0), new PageGivenUpError(WORKER_DEATHS)), { final: true, failure: WORKER_DEATHS });
});

test('a job BullMQ failed on its own (stalled past its limit) ended for good: its workers died', () => {
  assert.deepEqual(endOf(new Error('job stalled more than allowable limit')), { final: true, failure: WORKER_DEATHS });
});
