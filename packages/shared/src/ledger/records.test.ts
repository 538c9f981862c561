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

test('records written before attempts were numbered point at the unnumbered files', () => {
  assert.deepEqual(decodeRecord('completed'), { status: 'completed', attempt: 0, confidence: 0 });
  assert.deepEqual(decodeRecord('failed'), { status: 'failed', attempt: 0 });
  assert.throws(() => decodeRecord('pending'), /not a page record/);
});
