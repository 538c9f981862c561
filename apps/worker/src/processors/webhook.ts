import http from 'node:http';
import https from 'node:https';
import { UnrecoverableError, type Job } from 'bullmq';
import {
  FINISHED_STATUSES,
  jobLinks,
  publicLookup,
  signWebhook,
  WEBHOOK_HEADERS,
  type DocumentLedger,
  type WebhookJob,
  type WebhookPayload,
} from '@pagefleet/shared';

export interface WebhookDeps {
  ledger: DocumentLedger;
  /** WEBHOOK_SECRET; the API refuses callbacks without one, so a worker without it is misconfigured. */
  secret: string | undefined;
  allowPrivate: boolean;
  timeoutMs: number;
}

/** POSTs `body` once; resolves with the receiver's status. Redirects are not followed. */
function post(url: URL, body: string, headers: Record<string, string>, deps: WebhookDeps): Promise<number> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      lookup: publicLookup(deps.allowPrivate),
      timeout: deps.timeoutMs,
    });
    request.once('timeout', () =>
      request.destroy(new Error(`no answer within ${deps.timeoutMs} ms (WEBHOOK_TIMEOUT_MS)`)),
    );
    request.once('error', reject);
    request.once('response', (response) => {
      // The body is not read for anything: drain it so that the socket is freed.
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.end(body);
  });
}

/**
 * Delivers a finished document's webhook: a signed JSON summary POSTed to its callbackUrl. Any
 * answer but 2xx, a timeout or a refused connection throws, and BullMQ retries with backoff.
 */
export async function deliverWebhook(job: Job<WebhookJob>, deps: WebhookDeps): Promise<{ status: number }> {
  const { documentId } = job.data;
  if (!deps.secret)
    throw new UnrecoverableError('WEBHOOK_SECRET is not set on this worker: the webhook cannot be signed');
  const [doc, callbackUrl] = await Promise.all([deps.ledger.read(documentId), deps.ledger.callbackUrl(documentId)]);
  if (!doc || !callbackUrl) throw new UnrecoverableError('the document has expired (RESULT_TTL)');
  if (!FINISHED_STATUSES.has(doc.status)) throw new Error(`the document is still ${doc.status}`);

  const payload: WebhookPayload = {
    event: 'job.finished',
    id: doc.id,
    status: doc.status,
    pageCount: doc.pageCount,
    pagesDone: doc.pagesDone,
    pagesFailed: doc.pagesFailed,
    createdAt: doc.createdAt,
    ...(doc.finishedAt ? { finishedAt: doc.finishedAt } : {}),
    ...(doc.error ? { error: doc.error } : {}),
    links: jobLinks(doc.id),
  };
  const body = JSON.stringify(payload);
  const timestamp = Math.floor(Date.now() / 1000);
  const status = await post(
    new URL(callbackUrl),
    body,
    {
      'user-agent': 'pagefleet-webhook',
      [WEBHOOK_HEADERS.timestamp]: String(timestamp),
      [WEBHOOK_HEADERS.signature]: signWebhook(deps.secret, timestamp, body),
      [WEBHOOK_HEADERS.delivery]: job.id ?? '',
      [WEBHOOK_HEADERS.attempt]: String(job.attemptsStarted),
    },
    deps,
  );
  if (status < 200 || status > 299) throw new Error(`the receiver answered ${status}`);
  return { status };
}
