import type { Redis } from 'ioredis';
import { FINISHED_STATUSES, type DocumentState, type DocumentStatus } from './jobs.js';

// Status only moves forward: a late page never turns a finished or canceled document back.
const MARK_PROCESSING = `
if redis.call('HGET', KEYS[1], 'status') == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'processing')
end`;

const FINISH = `
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'queued' or status == 'processing' then
  redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finishedAt', ARGV[2], 'error', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
  return 1
end
return 0`;

export interface NewDocument {
  id: string;
  pageCount: number;
  languages: string;
  dpi: number;
  createdAt: string;
}

/**
 * The document's own status, kept in Redis apart from BullMQ's jobs (which are trimmed once
 * finished) so that polling finds it until RESULT_TTL. Page outcomes are a hash keyed by page,
 * so a page processed twice (a retry after a crash) is still counted once.
 */
export class DocumentStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private keys(id: string): [string, string] {
    return [`${this.prefix}:doc:${id}`, `${this.prefix}:doc:${id}:pages`];
  }

  async create(doc: NewDocument): Promise<void> {
    const [key] = this.keys(doc.id);
    await this.redis
      .multi()
      .hset(key, { ...doc, status: 'queued' satisfies DocumentStatus })
      .expire(key, this.ttlSeconds)
      .exec();
  }

  /** Forgets a document whose submission failed half-way. */
  async discard(id: string): Promise<void> {
    await this.redis.del(...this.keys(id));
  }

  async markProcessing(id: string): Promise<void> {
    await this.redis.eval(MARK_PROCESSING, 1, this.keys(id)[0]);
  }

  async recordPage(id: string, page: number, outcome: 'completed' | 'failed'): Promise<void> {
    const [, pagesKey] = this.keys(id);
    await this.redis.multi().hset(pagesKey, String(page), outcome).expire(pagesKey, this.ttlSeconds).exec();
  }

  /** Sets the final status unless the document already finished or was canceled; true if it did. */
  async finish(id: string, status: DocumentStatus, error = ''): Promise<boolean> {
    const done = await this.redis.eval(FINISH, 2, ...this.keys(id), status, new Date().toISOString(), error, this.ttlSeconds);
    return done === 1;
  }

  async cancel(id: string): Promise<void> {
    const [key] = this.keys(id);
    await this.redis
      .multi()
      .hset(key, { status: 'canceled' satisfies DocumentStatus, finishedAt: new Date().toISOString() })
      .expire(key, this.ttlSeconds)
      .exec();
  }

  async get(id: string): Promise<DocumentState | undefined> {
    const [key, pagesKey] = this.keys(id);
    const replies = await this.redis.multi().hgetall(key).hvals(pagesKey).exec();
    const [docReply, pagesReply] = replies ?? [];
    if (docReply?.[0] || pagesReply?.[0]) throw docReply?.[0] ?? pagesReply?.[0];
    const doc = docReply?.[1] as Record<string, string>;
    if (!doc.id) return undefined;
    const outcomes = pagesReply?.[1] as string[];
    const state: DocumentState = {
      id: doc.id,
      status: doc.status as DocumentStatus,
      pageCount: Number(doc.pageCount),
      pagesDone: outcomes.filter((outcome) => outcome === 'completed').length,
      pagesFailed: outcomes.filter((outcome) => outcome === 'failed').length,
      languages: doc.languages ?? '',
      dpi: Number(doc.dpi),
      createdAt: doc.createdAt ?? '',
    };
    if (doc.finishedAt) state.finishedAt = doc.finishedAt;
    if (doc.error) state.error = doc.error;
    return state;
  }

  /** False once RESULT_TTL has expired the document (or it never existed). */
  async exists(id: string): Promise<boolean> {
    return (await this.redis.exists(this.keys(id)[0])) === 1;
  }

  async isFinished(id: string): Promise<boolean> {
    const status = await this.redis.hget(this.keys(id)[0], 'status');
    return status !== null && FINISHED_STATUSES.has(status as DocumentStatus);
  }
}
