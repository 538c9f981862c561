import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layoutText, readingOrder, type LineSegment } from './reading-order.js';

/** A segment of `text` at x0..x1 on the row at `y` (rows 30 px high), one word per space. */
function segment(text: string, x0: number, x1: number, y: number): LineSegment {
  const bbox = { x0, y0: y, x1, y1: y + 30 };
  return { bbox, words: text.split(' ').map((word) => ({ text: word, confidence: 90, bbox })) };
}

test('two columns of running text read column after column, even with their rows aligned', () => {
  const left = ['left one is a line of text', 'left two is a line of text', 'left three is a line'];
  const right = ['right one is a line of text', 'right two is a line of text', 'right three is a line'];
  const segments = [
    ...left.map((text, i) => segment(text, 100, 1000, 100 + i * 40)),
    ...right.map((text, i) => segment(text, 1100, 2000, 100 + i * 40)),
  ].reverse();
  assert.equal(layoutText(readingOrder(segments)), `${left.join('\n')}\n\n${right.join('\n')}\n`);
});

test('a headline across both columns comes first', () => {
  const segments = [
    segment('body left line of running text', 100, 1000, 200),
    segment('A HEADLINE ACROSS THE PAGE', 100, 2000, 100),
    segment('body right line of running text', 1100, 2000, 200),
  ];
  assert.deepEqual(layoutText(readingOrder(segments)).trim().split(/\n+/), [
    'A HEADLINE ACROSS THE PAGE',
    'body left line of running text',
    'body right line of running text',
  ]);
});

test("a receipt's prices stay on their items' rows: short fields beside a gutter are not columns", () => {
  const segments = [
    segment('BANANAS', 50, 300, 100),
    segment('3.99', 700, 800, 102),
    segment('MILK 2L', 50, 280, 140),
    segment('12.50', 690, 800, 141),
  ];
  assert.equal(layoutText(readingOrder(segments)), 'BANANAS 3.99\nMILK 2L 12.50\n');
});

test('overlapping rows of a skewed page stay separate lines, in order', () => {
  const segments = [segment('first line', 0, 400, 100), segment('second line', 20, 420, 120)];
  assert.equal(layoutText(readingOrder(segments)), 'first line\nsecond line\n');
  assert.equal(layoutText(readingOrder([])), '');
});
