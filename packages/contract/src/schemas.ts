import { z } from 'zod';
import {
  DOCUMENT_STATUSES,
  ENGINE_CHOICES,
  ENGINES,
  MIN_DPI,
  OUTPUTS,
  PAGE_FAILURE_REASONS,
  PRIORITIES,
  PROBLEM_CODES,
  READ_METHODS,
} from './statuses.js';

/** The settings a submission is checked against (the service's configuration). */
export interface SubmissionLimits {
  DEFAULT_LANGUAGES: string;
  DEFAULT_DPI: number;
  MAX_DPI: number;
}

export const boundingBoxSchema = z.object({ x0: z.number(), y0: z.number(), x1: z.number(), y1: z.number() }).meta({
  id: 'BoundingBox',
  description: 'Pixels of the page as recognized: left, top, right, bottom.',
});
export type BoundingBox = z.infer<typeof boundingBoxSchema>;

export const wordResultSchema = z
  .object({
    text: z.string(),
    confidence: z.number().min(0).max(100),
    bbox: boundingBoxSchema,
    /** Pages read `text+ocr`: `layer` for a word of the PDF's text layer, `ocr` for one OCR found in an image. */
    origin: z.enum(['layer', 'ocr']).optional(),
  })
  .meta({ id: 'Word' });
export type WordResult = z.infer<typeof wordResultSchema>;

/** What the worker stores for each page, and what `GET /v1/jobs/:id/result` returns per page. */
export const pageResultSchema = z
  .object({
    page: z.number().int().min(1),
    status: z.enum(['completed', 'failed']),
    /**
     * Completed pages: `text` when read from the PDF's text layer (confidence 100), `ocr` when
     * OCRed, `text+ocr` when read from the layer with the text inside its images OCRed (each word
     * says its origin).
     */
    method: z.enum(READ_METHODS).optional(),
    /** OCRed pages: the engine that read the page (with `engine=auto`, the one auto chose). */
    engine: z.enum(ENGINES).optional(),
    text: z.string(),
    confidence: z.number().min(0).max(100),
    words: z.array(wordResultSchema),
    error: z.string().optional(),
    reason: z.enum(PAGE_FAILURE_REASONS).optional(),
    /** Failed pages: the stage the last attempt failed in, where known (`rasterize`, `ocr`…). */
    stage: z.string().optional(),
    /** Pixels and DPI the page was recognized at, after any downscale. */
    width: z.number().int().optional(),
    height: z.number().int().optional(),
    dpi: z.number().int().optional(),
    /** Milliseconds per stage. */
    durations: z.record(z.string(), z.number()).optional(),
  })
  .meta({ id: 'PageResult', description: 'One page as read: its text, mean confidence and words with their boxes.' });
export type PageResult = z.infer<typeof pageResultSchema>;

/** The document as a client polls it. */
export const documentStateSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(DOCUMENT_STATUSES),
    pageCount: z.number().int().min(1),
    /** The document's pages being processed (`1-3,7`), numbered as uploaded; every page unless `pages` was given. */
    pages: z.string(),
    pagesDone: z.number().int().min(0),
    pagesFailed: z.number().int().min(0),
    languages: z.string(),
    dpi: z.number().int(),
    /** What the submission asked for (`text`, `json`, `hocr`, `tsv`, `pdf`). */
    outputs: z.array(z.enum(OUTPUTS)),
    createdAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().optional(),
    error: z.string().optional(),
  })
  .meta({ id: 'Job', description: 'A submitted document: its status and how many of its pages are done.' });
export type DocumentState = z.infer<typeof documentStateSchema>;

/** What a live worker says of itself, every HEARTBEAT_INTERVAL_MS; `GET /v1/workers` lists them. */
export const workerHeartbeatSchema = z
  .object({
    id: z.string(),
    host: z.string(),
    pid: z.number().int(),
    startedAt: z.iso.datetime(),
    lastSeen: z.iso.datetime(),
    /** Page slots per queue, and how many are busy now. */
    queues: z.array(z.object({ queue: z.string(), slots: z.number().int(), busy: z.number().int() })),
    concurrency: z.number().int(),
    busy: z.number().int(),
    /** Pages this process completed since it started. */
    pagesDone: z.number().int(),
    rssBytes: z.number().int(),
    memoryBudgetBytes: z.number().int(),
  })
  .meta({ id: 'Worker', description: 'A live worker process, from its latest heartbeat.' });
export type WorkerHeartbeat = z.infer<typeof workerHeartbeatSchema>;

// The schemas the routes validate requests with and shape their answers by; the OpenAPI document
// (openapi.ts) is generated from these very objects, so the two cannot drift apart.

/** `outputs=text,json,hocr,pdf`: text and json are always made, and always listed. */
const outputsField = z
  .string()
  .default('text,json')
  .transform((text, ctx) => {
    const asked = text
      .split(',')
      .map((output) => output.trim())
      .filter(Boolean);
    const unknown = asked.filter((output) => !(OUTPUTS as readonly string[]).includes(output));
    if (unknown.length > 0) {
      ctx.addIssue({ code: 'custom', message: `${unknown.join(', ')}: choose among ${OUTPUTS.join(', ')}` });
      return z.NEVER;
    }
    return OUTPUTS.filter((output) => output === 'text' || output === 'json' || asked.includes(output));
  })
  .meta({
    description: `Comma-separated, among ${OUTPUTS.join(', ')}; text and json are always made.`,
    example: 'text,json,pdf',
  });

/** The form fields of `POST /v1/jobs` besides its files; the limits come from the configuration. */
export const submissionFields = (config: SubmissionLimits) =>
  z.strictObject({
    languages: z.string().default(config.DEFAULT_LANGUAGES).meta({
      description: 'Tesseract language codes joined by +, each installed on the workers.',
      example: 'eng+deu',
    }),
    dpi: z.coerce
      .number()
      .int()
      .min(MIN_DPI)
      .max(config.MAX_DPI)
      .default(config.DEFAULT_DPI)
      .meta({ description: 'Resolution PDF pages are rendered at; images keep their own.' }),
    callbackUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
      .optional()
      .meta({ description: 'Called with a POST (signed when WEBHOOK_SECRET is set) once the job has finished.' }),
    outputs: outputsField,
    pages: z.string().optional().meta({
      description:
        "Pages to process, 1-based over the files' pages in upload order: `1-3,7,10-`. Unset, every page. A page past the end is 422.",
      example: '1-3,7,10-',
    }),
    engine: z.enum(ENGINE_CHOICES).default('tesseract').meta({
      description:
        'The OCR engine: tesseract, paddle (PP-OCRv4, Chinese and English: receipts, photos) or auto, chosen per page (docs/engines.md). 422 engine_unavailable where the models are not installed.',
    }),
    priority: z.enum(PRIORITIES).default('batch').meta({
      description:
        "interactive: a person waits for it; its pages go before the tenant's batch pages, and the tenant's interactive pages queued at once are limited (422 past the limit alone, 429 past it with others queued). batch: served in turn with everyone's.",
    }),
    forceOcr: z
      .enum(['true', 'false'])
      .default('false')
      .transform((value) => value === 'true')
      .meta({
        description: 'OCR every page, even where the PDF carries a usable text layer (read from it by default).',
      }),
  });

export const MAX_RESULT_PAGES = 1000;

export const resultQuery = z.object({
  offset: z.coerce.number().int().min(0).default(0).meta({ description: 'Pages to skip.' }),
  limit: z.coerce.number().int().min(1).max(MAX_RESULT_PAGES).default(100).meta({ description: 'Pages to return.' }),
});

export const PAGE_RESPONSE_FORMATS = ['json', 'text', 'hocr', 'tsv', 'pdf', 'image'] as const;
export const pageFormatQuery = z.object({
  format: z
    .enum(PAGE_RESPONSE_FORMATS)
    .default('json')
    .meta({ description: 'hocr, tsv, pdf and image only when the job asked for them in outputs.' }),
});

const jobLinksSchema = z.object({ self: z.string(), result: z.string(), text: z.string(), events: z.string() });

export const acceptedSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(DOCUMENT_STATUSES),
    pageCount: z.number().int().min(1),
    createdAt: z.iso.datetime(),
    links: jobLinksSchema,
  })
  .meta({ id: 'Accepted', description: 'A job accepted: every page is queued; follow links.self or links.events.' });
export type Accepted = z.infer<typeof acceptedSchema>;

export const pendingPageSchema = z
  .object({ page: z.number().int().min(1), status: z.literal('pending') })
  .meta({ id: 'PendingPage' });

export const resultSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(DOCUMENT_STATUSES),
    pageCount: z.number().int().min(1),
    offset: z.number().int().min(0),
    limit: z.number().int().min(1),
    pages: z.array(z.union([pageResultSchema, pendingPageSchema])),
    links: z.object({ next: z.string() }).optional(),
  })
  .meta({ id: 'Result', description: 'A window of pages of a job, in order; links.next reads the next window.' });
export type Result = z.infer<typeof resultSchema>;

export const workersSchema = z.object({ workers: z.array(workerHeartbeatSchema) }).meta({ id: 'Workers' });

/** What one tenant used, since Redis last lost its data: what a team bills. */
export const tenantUsageSchema = z
  .object({
    /** The tenant's configured name (`default` where no keys are in use). */
    tenant: z.string(),
    /** Pages completed. */
    pages: z.number().int(),
    byMethod: z.partialRecord(z.enum(READ_METHODS), z.number().int()),
    /** OCRed pages (`ocr`, `text+ocr`) by the engine that read them. */
    byEngine: z.partialRecord(z.enum(ENGINES), z.number().int()),
    /** Seconds worker slots spent on the tenant's pages, every attempt counted, failed ones too. */
    workerSeconds: z.number(),
  })
  .meta({ id: 'TenantUsage', description: 'Pages read and worker time, for one tenant.' });
export type TenantUsage = z.infer<typeof tenantUsageSchema>;

export const tenantsUsageSchema = z.object({ tenants: z.array(tenantUsageSchema) }).meta({ id: 'TenantsUsage' });

export const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
export const readySchema = z
  .object({
    status: z.literal('ready'),
    checks: z.object({
      redis: z.boolean(),
      storage: z.boolean(),
      dataDir: z.boolean(),
      disk: z.boolean().describe('DATA_DIR keeps MIN_FREE_DISK free.'),
    }),
  })
  .meta({ id: 'Ready' });

export const problemSchema = z
  .object({
    type: z.string().meta({ example: 'urn:pagefleet:problem:not_found' }),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    code: z.enum(PROBLEM_CODES).meta({ description: 'Stable machine-readable reason: the last part of type.' }),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details: every error the API answers.' });
export type Problem = z.infer<typeof problemSchema>;
