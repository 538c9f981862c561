import type { Request, Response } from 'express';
import {
  FINISHED_STATUSES,
  type DocumentLedger,
  type DocumentState,
  type EventBell,
  type Logger,
} from '@pagefleet/shared';

/** How often an open stream looks for new events unrung: a bell lost (Redis reconnecting) costs no more. */
const POLL_MS = 500;
/** Events read from Redis at once while replaying a long document. */
const BATCH = 200;
/** What EventSource waits before reconnecting (with Last-Event-ID) after a cut. */
const RETRY_MS = 2000;
const STREAM_ID = /^\d+-\d+$/;
/**
 * How often a stream with nothing new reads its document again: one Redis has lost is recovered
 * (and its end comes as an event) or is gone (the stream ends with an error), never waited on forever.
 */
const RECHECK_MS = 5000;

export interface EventsDeps {
  ledger: DocumentLedger;
  bell: EventBell;
  log: Logger;
  heartbeatMs: number;
  /** Aborts when the server shuts down: open streams end, clients reconnect to another replica. */
  stopping: AbortSignal;
}

/**
 * `GET /v1/jobs/:id/events`: Server-Sent Events. A `state` event with the document as it is, then
 * one `page` event per page that ends (page, status, confidence and the counts so far), then an
 * `end` event with the final document, and the stream closes (an `error` event instead if the
 * document stops existing, e.g. Redis lost it and nothing of it was stored). Events carry ids: a client that
 * reconnects with Last-Event-ID gets what it missed, nothing twice. Comment lines every
 * SSE_HEARTBEAT_MS keep proxies from closing an idle stream.
 */
export async function streamEvents(req: Request, res: Response, doc: DocumentState, deps: EventsDeps): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    connection: 'keep-alive',
    // nginx buffers responses unless told otherwise; events would arrive in lumps.
    'x-accel-buffering': 'no',
  });
  const send = (event: string, data: unknown, id?: string) =>
    res.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  res.write(`retry: ${RETRY_MS}\n\n`);
  send('state', doc);

  const closed = new AbortController();
  res.once('close', () => closed.abort());
  const stop = AbortSignal.any([closed.signal, deps.stopping]);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), deps.heartbeatMs);
  // Listening before the first read: an event written while the stream reads is not missed.
  const door = deps.bell.door(doc.id);
  const lastEventId = req.get('last-event-id');
  let after = lastEventId && STREAM_ID.test(lastEventId) ? lastEventId : '0';
  let checkedAt = Date.now();
  try {
    while (!stop.aborted) {
      const events = await deps.ledger.events(doc.id, after, BATCH);
      for (const event of events) {
        after = event.id;
        if (event.type === 'end') {
          send('end', (await deps.ledger.read(doc.id)) ?? { ...doc, status: event.status }, event.id);
          return;
        }
        const { id, type, ...page } = event;
        send(type, { ...page, pageCount: doc.pageCount }, id);
      }
      // A document finished before its stream was written (or whose stream is gone) ends here.
      if (events.length === 0 && FINISHED_STATUSES.has(doc.status)) {
        send('end', doc);
        return;
      }
      if (events.length === 0 && Date.now() - checkedAt >= RECHECK_MS) {
        checkedAt = Date.now();
        const now = await deps.ledger.read(doc.id);
        if (!now) {
          send('error', { code: 'not_found', detail: `job ${doc.id} no longer exists` });
          return;
        }
        if (FINISHED_STATUSES.has(now.status) && (await deps.ledger.events(doc.id, after, 1)).length === 0) {
          send('end', now);
          return;
        }
      }
      if (events.length < BATCH) await door.wait(POLL_MS, stop);
    }
  } catch (err) {
    // Redis went away. A finished document (read from its saved state) still gets its end; any
    // other stream ends and EventSource reconnects after RETRY_MS.
    if (FINISHED_STATUSES.has(doc.status)) send('end', doc);
    else deps.log.warn({ err, documentId: doc.id }, 'event stream cut');
  } finally {
    door.close();
    clearInterval(heartbeat);
    res.end();
  }
}
