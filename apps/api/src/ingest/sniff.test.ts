import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectType } from './sniff.js';

const bytes = (...values: number[]) => Buffer.from(values);

test('detectType knows each accepted type by its magic bytes', () => {
  assert.equal(detectType(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0)), 'png');
  assert.equal(detectType(bytes(0xff, 0xd8, 0xff, 0xe0)), 'jpeg');
  assert.equal(detectType(bytes(0x49, 0x49, 0x2a, 0x00)), 'tiff');
  assert.equal(detectType(bytes(0x4d, 0x4d, 0x00, 0x2a)), 'tiff');
  assert.equal(detectType(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1')), 'webp');
  assert.equal(detectType(Buffer.from('%PDF-1.7\n')), 'pdf');
});

test('detectType finds a PDF header after leading junk, as PDF readers do', () => {
  assert.equal(detectType(Buffer.concat([Buffer.alloc(100, 0x20), Buffer.from('%PDF-1.4')])), 'pdf');
});

test('detectType rejects what it does not know, whatever the name says', () => {
  assert.equal(detectType(Buffer.from('GIF89a')), undefined);
  assert.equal(detectType(Buffer.from('BM')), undefined);
  assert.equal(detectType(Buffer.from('hello.pdf')), undefined);
  assert.equal(detectType(Buffer.from('RIFF\x10\x00\x00\x00WAVE', 'latin1')), undefined);
  assert.equal(detectType(Buffer.alloc(0)), undefined);
});
