export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  /** A comment line (`: …`), as sent to keep a connection alive. */
  comment?: string;
}

/** The messages of a text/event-stream response as they arrive; ends when the server closes it. */
export async function* readSse(response: Response): AsyncGenerator<SseMessage> {
  if (!response.body) throw new Error('the event stream has no body');
  // A reader rather than for-await over the body: not every browser iterates streams.
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      pending += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
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
  } finally {
    reader.releaseLock();
    await response.body.cancel().catch(() => undefined);
  }
}
