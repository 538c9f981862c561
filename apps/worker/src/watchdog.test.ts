import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lookAt, type QueueWatch } from './watchdog.js';

const IDLE = 10_000;
const look = (freeSlots: number, waiting: number | undefined, lastTakenAt: number) => ({
  freeSlots,
  waiting,
  lastTakenAt,
});

test('a worker with free slots, pages waiting and nothing taken for idleMs reconnects, then turns unready', () => {
  const watch: QueueWatch = { stuck: false };
  assert.equal(lookAt(look(1, 5, 0), watch, IDLE - 1, IDLE), 'none', 'not idle long enough');
  assert.equal(lookAt(look(1, 5, 0), watch, IDLE, IDLE), 'reconnect');
  watch.reconnectedAt = IDLE;
  assert.equal(lookAt(look(1, 5, 0), watch, 2 * IDLE - 1, IDLE), 'none', 'the reconnect gets idleMs to help');
  assert.equal(lookAt(look(1, 5, 0), watch, 2 * IDLE, IDLE), 'unready');
  watch.stuck = true;
  assert.equal(lookAt(look(1, 0, 0), watch, 3 * IDLE, IDLE), 'none', 'stuck until a page is taken');
  assert.equal(lookAt(look(0, 5, 3 * IDLE), watch, 3 * IDLE, IDLE), 'recovered');
});

test('a page taken after the reconnect, or no page left waiting, clears the watch', () => {
  assert.equal(lookAt(look(1, 5, IDLE + 5), { stuck: false, reconnectedAt: IDLE }, IDLE + 6, IDLE), 'recovered');
  assert.equal(lookAt(look(1, 0, 0), { stuck: false, reconnectedAt: IDLE }, IDLE + 6, IDLE), 'recovered');
});

test('busy, idle with nothing waiting, or Redis silent: nothing to do', () => {
  const watch: QueueWatch = { stuck: false };
  assert.equal(lookAt(look(0, 5, 0), watch, 5 * IDLE, IDLE), 'none', 'every slot busy');
  assert.equal(lookAt(look(2, 0, 0), watch, 5 * IDLE, IDLE), 'none', 'nothing waits');
  assert.equal(lookAt(look(2, undefined, 0), watch, 5 * IDLE, IDLE), 'none', 'Redis did not answer in time');
});
