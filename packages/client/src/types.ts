// The answers of the pagefleet API, as its OpenAPI document (GET /openapi.json) describes them.

export type JobStatus = 'queued' | 'processing' | 'completed' | 'partial' | 'failed' | 'canceled';
export const FINISHED: ReadonlySet<JobStatus> = new Set(['completed', 'partial', 'failed', 'canceled']);

export type Output = 'text' | 'json' | 'hocr' | 'tsv' | 'pdf' | 'image';

export interface Job {
  id: string;
  status: JobStatus;
  pageCount: number;
  /** The document's pages being processed (`1-3,7`), numbered as uploaded. */
  pages: string;
  pagesDone: number;
  pagesFailed: number;
  languages: string;
  dpi: number;
  outputs: Output[];
  createdAt: string;
  finishedAt?: string;
  error?: string;
}

export interface Accepted {
  id: string;
  status: JobStatus;
  pageCount: number;
  createdAt: string;
  links: { self: string; result: string; text: string; events: string };
}

export interface Word {
  text: string;
  confidence: number;
  bbox: { x0: number; y0: number; x1: number; y1: number };
}

export interface PageResult {
  page: number;
  status: 'completed' | 'failed';
  /** How a completed page was read: from the PDF's text layer, or by OCR. */
  method?: 'text' | 'ocr';
  text: string;
  confidence: number;
  words: Word[];
  error?: string;
  /** Why a failed page was given up: out of memory, timed out, no room to store it, lost with Redis' data, or an error. */
  reason?: 'oom' | 'timeout' | 'storage' | 'lost' | 'error';
  /** Failed pages: the stage the last attempt failed in, where known. */
  stage?: string;
  width?: number;
  height?: number;
  dpi?: number;
  durations?: Record<string, number>;
}

export interface ResultWindow {
  id: string;
  status: JobStatus;
  pageCount: number;
  offset: number;
  limit: number;
  pages: Array<PageResult | { page: number; status: 'pending' }>;
  links?: { next: string };
}

export interface Worker {
  id: string;
  host: string;
  pid: number;
  startedAt: string;
  lastSeen: string;
  queues: Array<{ queue: string; slots: number; busy: number }>;
  concurrency: number;
  busy: number;
  pagesDone: number;
  rssBytes: number;
  memoryBudgetBytes: number;
}

/** RFC 9457 problem details: every error the API answers. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

/** What the event stream of a job tells, in order: the job, each page that ends, the job finished. */
export type ProgressEvent =
  | { type: 'state'; job: Job }
  | {
      type: 'page';
      page: number;
      status: 'completed' | 'failed';
      confidence: number;
      pagesDone: number;
      pagesFailed: number;
    }
  | { type: 'end'; job: Job };
