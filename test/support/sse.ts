export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  /** A comment line (`: …`), as sent to keep a connection alive. */
  comment?: string;
}

/** The messages of a text/event-stream response as they arrive; ends when the server closes it. */
export async function* readSse(response: Response): AsyncGenerator<SseMessage> {
  if (!response.body) throw new Error('no body');
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of response.body) {
    pending += decoder.decode(chunk as Uint8Array, { stream: true });
    let end: number;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const block = pending.slice(0, end);
      pending = pending.slice(end + 2);
      const message: SseMessage = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) message.comment = line.slice(1).trim();
        const field = /^(id|event|data): ?(.*)$/.exec(line);
        if (field) message[field[1] as 'id' | 'event' | 'data'] = field[2];
      }
      yield message;
    }
  }
}

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
