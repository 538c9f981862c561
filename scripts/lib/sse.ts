import type { SseMessage } from '../../packages/client/src/sse.js';

export { readSse, type SseMessage } from '../../packages/client/src/sse.js';

/**
 * Reads messages until `stop` accepts one (returned last), or the stream ends. The stream stays
 * open for the next call (a for-await loop left with break would close it).
 */
export async function collect(
  messages: AsyncGenerator<SseMessage>,
  stop: (message: SseMessage) => boolean = () => false,
): Promise<SseMessage[]> {
  const seen: SseMessage[] = [];
  for (;;) {
    const next = await messages.next();
    if (next.done) return seen;
    seen.push(next.value);
    if (stop(next.value)) return seen;
  }
}
