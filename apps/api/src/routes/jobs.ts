import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import { findPaddleModels, type EventBell, type RedisClient } from '@pagefleet/shared';
import { z } from 'zod';
import {
  expandPages,
  FINISHED_STATUSES,
  IdempotencyMismatchError,
  InvalidRequestError,
  jobLinks,
  jobPath,
  NotFinishedError,
  NotFoundError,
  pageFormatQuery,
  resultQuery,
  submissionFields,
  type Accepted,
  type DocumentState,
  type Result,
  type Logger,
  uploadsDir,
} from '@pagefleet/shared';
import { clientOf } from '../auth.js';
import { admission } from '../ingest/admission.js';
import { checkCallbackUrl } from '../ingest/callback.js';
import { engineFor } from '../ingest/engine.js';
import { fingerprint, idempotency, idempotentRequest } from '../ingest/idempotency.js';
import { checkLanguages } from '../ingest/languages.js';
import { submitDocument, type SubmitDeps, type Submitted, type UploadedFile } from '../ingest/submit.js';
import { uploadPace } from '../ingest/pace.js';
import { tenantRate } from '../ingest/tenant-rate.js';
import { uploadMiddleware } from '../ingest/upload.js';
import { countRejections, type ApiMetrics } from '../metrics.js';
import { cancelDocument } from './cancel.js';
import { streamEvents } from './events.js';

export interface JobsDeps extends SubmitDeps {
  redis: RedisClient;
  metrics: ApiMetrics;
  log: Logger;
  /** Aborts when the server shuts down, to end event streams. */
  stopping: AbortSignal;
  bell: EventBell;
}

/** How each stored format of a page is served. */
const PAGE_TYPES = {
  json: 'application/json; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  hocr: 'application/xhtml+xml; charset=utf-8',
  tsv: 'text/tab-separated-values; charset=utf-8',
  pdf: 'application/pdf',
  image: 'image/jpeg',
} as const;

/** Streams a stored object, already opened (so that a missing one is an error before anything is sent). */
async function sendStream(res: Response, stream: Readable, type: string, disposition?: string): Promise<void> {
  res.type(type);
  if (disposition) res.set('Content-Disposition', disposition);
  await pipeline(stream, res);
}

const links = (id: string) => ({ ...jobLinks(id), events: `${jobPath(id)}/events` });

function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || what;
  throw new InvalidRequestError(`${field}: ${issue?.message ?? 'invalid'}`);
}

function accepted(res: Response, doc: Pick<DocumentState, 'id' | 'status' | 'pageCount' | 'createdAt'>): void {
  const body: Accepted = {
    id: doc.id,
    status: doc.status,
    pageCount: doc.pageCount,
    createdAt: doc.createdAt,
    links: links(doc.id),
  };
  res.status(202).location(jobPath(doc.id)).json(body);
}

async function removeUploads(files: UploadedFile[]): Promise<void> {
  await Promise.all(files.map((file) => rm(file.path, { force: true })));
}

export function jobsRouter(deps: JobsDeps): Router {
  const { config } = deps;
  const router = Router();
  const admit = admission({ config, dispatch: deps.dispatch });
  const rate = tenantRate({ redis: deps.redis, prefix: config.QUEUE_PREFIX, tenants: deps.tenants });
  const pace = uploadPace(config);
  const upload = uploadMiddleware(config, uploadsDir(config.DATA_DIR));
  const fields = submissionFields(config);
  const paddleInstalled = findPaddleModels() !== undefined;

  /** The job the route names; another client's is not found (404, never 403: not even its existence is told). */
  async function findDocument(req: Request, res: Response): Promise<DocumentState> {
    const id = String(req.params.id);
    const doc = await deps.ledger.read(id, clientOf(res));
    if (!doc) throw new NotFoundError(`no job ${id}`);
    return doc;
  }

  const idempotent = idempotency({
    redis: deps.redis,
    prefix: config.QUEUE_PREFIX,
    ttlSeconds: config.RESULT_TTL,
    leaseMs: config.INGEST_LEASE_MS,
    findDocument: (id, client) => deps.ledger.read(id, client),
  });

  router.post('/', countRejections(deps.metrics), idempotent, admit, rate, pace, upload, async (req, res) => {
    const files = (req.files ?? []) as UploadedFile[];
    deps.metrics.uploads.inc(files.length);
    deps.metrics.uploadedBytes.inc(files.reduce((sum, file) => sum + file.size, 0));
    try {
      if (files.length === 0) {
        throw new InvalidRequestError('send multipart/form-data with at least one file in the field "file"');
      }
      const submission = parseOrThrow(fields, req.body ?? {}, 'fields');
      const idempotent = idempotentRequest(res);
      const digest = idempotent && (await fingerprint(submission, files));
      if (idempotent?.earlier) {
        const { doc, fingerprint: sent } = idempotent.earlier;
        if (sent !== digest) {
          throw new IdempotencyMismatchError(
            `this Idempotency-Key was used for job ${doc.id} with other files or options; use a new key for a new request`,
          );
        }
        res.set('Idempotent-Replayed', 'true');
        accepted(res, doc);
        return;
      }
      // Refuses a language that is not installed, or a callback that cannot be called, before
      // anything is checked or queued.
      checkLanguages(submission.languages, config);
      submission.engine = engineFor(submission.engine, submission.languages, paddleInstalled);
      if (submission.callbackUrl) await checkCallbackUrl(submission.callbackUrl, config);
      const replay = idempotent && digest ? (id: string) => idempotent.replay(id, digest) : undefined;
      const submitted: Submitted = await submitDocument(deps, files, submission, clientOf(res), replay);
      deps.metrics.documentsSubmitted.inc();
      deps.metrics.pagesSubmitted.inc(submitted.pageCount);
      accepted(res, { ...submitted, status: 'queued' });
    } finally {
      await removeUploads(files);
    }
  });

  router.get('/:id', async (req, res) => {
    res.json(await findDocument(req, res));
  });

  router.get('/:id/events', async (req, res) => {
    const doc = await findDocument(req, res);
    await streamEvents(req, res, doc, { ...deps, heartbeatMs: config.SSE_HEARTBEAT_MS });
  });

  router.get('/:id/result', async (req, res) => {
    const doc = await findDocument(req, res);
    const { offset, limit } = parseOrThrow(resultQuery, req.query, 'query');
    if (doc.status === 'canceled') throw new NotFinishedError(`job ${doc.id} was canceled; it has no result`);
    const selected = expandPages(doc.pages).slice(offset, offset + limit);
    // One page file at a time: a large document is never loaded whole.
    const results = await deps.ledger.pageResults(doc.id, selected);
    const pages: Result['pages'] = selected.map((page, i) => results[i] ?? { page, status: 'pending' });
    const next =
      offset + limit < doc.pageCount ? `${jobPath(doc.id)}/result?offset=${offset + limit}&limit=${limit}` : undefined;
    const body: Result = {
      id: doc.id,
      status: doc.status,
      pageCount: doc.pageCount,
      offset,
      limit,
      pages,
      ...(next ? { links: { next } } : {}),
    };
    res.json(body);
  });

  router.get('/:id/text', async (req, res) => {
    const doc = await findDocument(req, res);
    if (!FINISHED_STATUSES.has(doc.status) || doc.status === 'canceled') {
      throw new NotFinishedError(`job ${doc.id} is ${doc.status}; its text is ready once it has finished`);
    }
    const text = await deps.ledger.text(doc.id);
    if (!text) throw new NotFoundError(`job ${doc.id} has no text stored`);
    await sendStream(res, text, PAGE_TYPES.text);
  });

  router.get('/:id/pdf', async (req, res) => {
    const doc = await findDocument(req, res);
    if (!doc.outputs.includes('pdf'))
      throw new NotFoundError(`job ${doc.id} was not asked for a PDF (submit with outputs=…,pdf)`);
    if (!FINISHED_STATUSES.has(doc.status) || doc.status === 'canceled') {
      throw new NotFinishedError(`job ${doc.id} is ${doc.status}; its PDF is ready once it has finished`);
    }
    const pdf = await deps.ledger.pdf(doc.id);
    if (!pdf) throw new NotFoundError(`job ${doc.id} has no PDF: none of its pages was read`);
    await sendStream(res, pdf, PAGE_TYPES.pdf, `attachment; filename="${doc.id}.pdf"`);
  });

  router.get('/:id/pages/:page', async (req, res) => {
    const doc = await findDocument(req, res);
    const { page } = parseOrThrow(z.object({ page: z.coerce.number().int().min(1) }), req.params, 'page');
    if (!expandPages(doc.pages).includes(page)) {
      throw new InvalidRequestError(`page: job ${doc.id} has pages ${doc.pages}, not page ${page}`);
    }
    const { format } = parseOrThrow(pageFormatQuery, req.query, 'format');
    if (format !== 'json' && format !== 'text' && !doc.outputs.includes(format)) {
      throw new NotFoundError(`job ${doc.id} was not asked for ${format} (submit with outputs=…,${format})`);
    }
    const result = await deps.ledger.pageResult(doc.id, page);
    if (!result) throw new NotFinishedError(`page ${page} of job ${doc.id} has not been read yet`);
    if (format === 'json') {
      res.json(result);
      return;
    }
    if (format === 'text') {
      res.type(PAGE_TYPES.text).send(result.text);
      return;
    }
    if (result.status === 'failed')
      throw new NotFoundError(`page ${page} of job ${doc.id} failed: ${result.error ?? 'no output'}`);
    const output = await deps.ledger.pageOutput(doc.id, page, format);
    if (!output) throw new NotFoundError(`page ${page} of job ${doc.id} has no ${format} stored`);
    await sendStream(
      res,
      output,
      PAGE_TYPES[format],
      format === 'pdf' ? `attachment; filename="${doc.id}-${page}.pdf"` : undefined,
    );
  });

  router.delete('/:id', async (req, res) => {
    await cancelDocument(deps, await findDocument(req, res));
    res.status(204).end();
  });

  return router;
}
