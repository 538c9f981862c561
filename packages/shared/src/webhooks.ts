import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { Dispatcher } from './dispatch.js';
import type { DocumentLedger } from './ledger/index.js';
import type { DocumentStatus } from '@pagefleet/contract';

export const webhookJobSchema = z.object({ documentId: z.uuid() });
export type WebhookJob = z.infer<typeof webhookJobSchema>;

/** Headers of a webhook delivery; receivers verify the signature with WEBHOOK_SECRET. */
export const WEBHOOK_HEADERS = {
  /** Unix seconds when the delivery was signed: reject old ones to stop replays. */
  timestamp: 'pagefleet-timestamp',
  /** `v1=` and the hex HMAC-SHA256 of `<timestamp>.<body>` keyed with WEBHOOK_SECRET. */
  signature: 'pagefleet-signature',
  /** The same for every attempt at one webhook: receivers dedupe on it. */
  delivery: 'pagefleet-delivery',
  attempt: 'pagefleet-attempt',
} as const;

/** What a callback receives when its job ends. */
export interface WebhookPayload {
  event: 'job.finished';
  id: string;
  status: DocumentStatus;
  pageCount: number;
  pagesDone: number;
  pagesFailed: number;
  createdAt: string;
  finishedAt?: string;
  error?: string;
  links: { self: string; result: string; text: string };
}

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Queues the webhook of a document that has ended, if its submission asked for one. */
export async function queueWebhook(dispatch: Dispatcher, ledger: DocumentLedger, documentId: string): Promise<void> {
  if (await ledger.callbackUrl(documentId)) await dispatch.queueWebhook(documentId);
}
