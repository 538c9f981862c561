import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRecord, encodeRecord, type PageRecord } from './records.js';

test('page records survive a round trip through their Redis form', () => {
  const records: PageRecord[] = [
    { status: 'completed', attempt: 3, confidence: 91.5 },
    { status: 'failed', attempt: 0, failure: { reason: 'timeout', error: 'page timed out', stage: 'ocr' } },
  ];
  for (const record of records) assert.deepEqual(decodeRecord(encodeRecord(record)), record);
  // Lua counts outcomes by this prefix.
  assert.match(encodeRecord({ status: 'completed', attempt: 1, confidence: 0 }), /^completed:/);
});

test('anything else is not a page record', () => {
  assert.throws(() => decodeRecord('completed'), /not a page record/);
  assert.throws(() => decodeRecord('pending:{}'), /not a page record/);
});
