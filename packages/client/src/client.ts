import { readSse } from './sse.js';
import type {
  Accepted,
  EngineChoice,
  Job,
  Output,
  PageResult,
  Priority,
  Problem,
  ProgressEvent,
  ResultWindow,
  Worker,
} from './types.js';

/**
 * The API answered with a problem document, or with an error without one (a proxy's page):
 * then its code is `http_error`.
 */
export class ProblemError extends Error {
  override name = 'ProblemError';
  constructor(readonly problem: Omit<Problem, 'code'> & { code: Problem['code'] | 'http_error' }) {
    super(`${problem.status} ${problem.code}: ${problem.detail}`);
  }
}

/** No answer at all: the server is down, or the URL is wrong. */
export class UnreachableError extends Error {
  override name = 'UnreachableError';
}

export interface ClientOptions {
  /** Where the API listens, e.g. http://127.0.0.1:3000 (a page served by the API passes its own origin). */
  url: string;
  /** One of the server's API_KEYS, when it has any. */
  apiKey?: string | undefined;
}

export interface SubmitOptions {
  languages?: string | undefined;
  dpi?: number | undefined;
  outputs?: Output[] | undefined;
  callbackUrl?: string | undefined;
  /** Pages to process, 1-based over the files' pages in order: `1-3,7,10-`. */
  pages?: string | undefined;
  /** OCR every page, even where the PDF carries a text layer. */
  forceOcr?: boolean | undefined;
  /** The OCR engine: tesseract (the server's default), paddle, or auto (chosen per page). */
  engine?: EngineChoice | undefined;
  /** interactive: a person waits for it (before the tenant's batch pages, limited per tenant); batch, the default. */
  priority?: Priority | undefined;
  idempotencyKey?: string | undefined;
}

/** Pages per request when reading a whole result. */
const WINDOW = 100;
/** An event stream cut without its `end` is opened again, from the last event, this many times in a row. */
const RECONNECTS = 5;

export class PagefleetClient {
  private readonly base: string;

  constructor(private readonly options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  /** Any path of the API, with the key; a problem answer rejects with a ProblemError. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.options.apiKey) headers.set('authorization', `Bearer ${this.options.apiKey}`);
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, { ...init, headers });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new UnreachableError(
        `cannot reach ${this.base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      );
    }
    if (response.ok) return response;
    const type = response.headers.get('content-type') ?? '';
    const problem = type.includes('json')
      ? ((await response.json()) as Problem)
      : {
          type: 'about:blank',
          title: response.statusText,
          status: response.status,
          detail: (await response.text()).slice(0, 200) || response.statusText,
          code: 'http_error' as const,
        };
    throw new ProblemError(problem);
  }

  private async json<T>(path: string, init?: RequestInit): Promise<T> {
    return (await (await this.request(path, init)).json()) as T;
  }

  /** One job of all the files, in order. */
  submit(files: Array<{ name: string; data: Blob }>, options: SubmitOptions = {}): Promise<Accepted> {
    const form = new FormData();
    if (options.languages) form.append('languages', options.languages);
    if (options.dpi !== undefined) form.append('dpi', String(options.dpi));
    if (options.outputs) form.append('outputs', options.outputs.join(','));
    if (options.callbackUrl) form.append('callbackUrl', options.callbackUrl);
    if (options.pages) form.append('pages', options.pages);
    if (options.forceOcr !== undefined) form.append('forceOcr', String(options.forceOcr));
    if (options.engine) form.append('engine', options.engine);
    if (options.priority) form.append('priority', options.priority);
    for (const file of files) form.append('file', file.data, file.name);
    const headers: Record<string, string> = options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {};
    return this.json<Accepted>('/v1/jobs', { method: 'POST', body: form, headers });
  }

  job(id: string): Promise<Job> {
    return this.json<Job>(`/v1/jobs/${encodeURIComponent(id)}`);
  }

  result(id: string, offset = 0, limit = WINDOW): Promise<ResultWindow> {
    return this.json<ResultWindow>(`/v1/jobs/${encodeURIComponent(id)}/result?offset=${offset}&limit=${limit}`);
  }

  /** Every page of a job, a window at a time: a long document is never held whole. */
  async *pages(id: string): AsyncGenerator<ResultWindow['pages'][number]> {
    for (let offset = 0; ; offset += WINDOW) {
      const window = await this.result(id, offset, WINDOW);
      yield* window.pages;
      if (!window.links?.next) return;
    }
  }

  page(id: string, page: number): Promise<PageResult> {
    return this.json<PageResult>(`/v1/jobs/${encodeURIComponent(id)}/pages/${page}`);
  }

  async text(id: string): Promise<string> {
    return (await this.request(`/v1/jobs/${encodeURIComponent(id)}/text`)).text();
  }

  /** The searchable PDF, as a response to stream from. */
  pdf(id: string): Promise<Response> {
    return this.request(`/v1/jobs/${encodeURIComponent(id)}/pdf`);
  }

  async cancel(id: string): Promise<void> {
    await this.request(`/v1/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  async workers(): Promise<Worker[]> {
    return (await this.json<{ workers: Worker[] }>('/v1/workers')).workers;
  }

  /**
   * The job's progress from its event stream, until it ends. A stream cut short is opened again
   * from the last event received, so no page is told twice or missed.
   */
  async *events(id: string, signal?: AbortSignal): AsyncGenerator<ProgressEvent> {
    let lastId: string | undefined;
    let lastError: Error | undefined;
    for (let failures = 0; ;) {
      const headers: Record<string, string> = {
        accept: 'text/event-stream',
        ...(lastId ? { 'last-event-id': lastId } : {}),
      };
      try {
        const response = await this.request(`/v1/jobs/${encodeURIComponent(id)}/events`, {
          headers,
          ...(signal ? { signal } : {}),
        });
        for await (const message of readSse(response)) {
          if (!message.event || message.data === undefined) continue;
          failures = 0;
          if (message.id) lastId = message.id;
          const data = JSON.parse(message.data) as Record<string, unknown>;
          if (message.event === 'state') yield { type: 'state', job: data as unknown as Job };
          else if (message.event === 'page')
            yield { type: 'page', ...(data as Omit<Extract<ProgressEvent, { type: 'page' }>, 'type'>) };
          else if (message.event === 'end') {
            yield { type: 'end', job: data as unknown as Job };
            return;
          }
        }
      } catch (err) {
        if (err instanceof ProblemError || signal?.aborted) throw err;
        lastError = err instanceof Error ? err : new Error(String(err));
      }
      if (++failures > RECONNECTS)
        throw lastError ?? new UnreachableError(`the event stream of job ${id} keeps closing before the job ends`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
