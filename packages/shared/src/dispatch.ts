import { FlowProducer, Queue, type FlowJobNode, type JobsOptions, type JobType } from 'bullmq';
import type { Config } from './config.js';
import { FairShare, HOLD_DELAY_MS } from './fair-share.js';
import { HeartbeatStore } from './heartbeats.js';
import type { DocumentJob, PageJob, SplitJob } from './jobs.js';
import type { Logger } from './logger.js';
import { QUEUE_DEFINITIONS, type QueuePayloads } from './queue-definitions.js';
import { PAGE_QUEUE_NAMES, pageJobId, pageQueueFor, QUEUES, type PageQueueName, type QueueName } from './queues.js';
import type { RedisClient } from './redis.js';
import { TenantDirectory } from './tenants.js';
import type { WebhookJob } from './webhooks.js';

/** Finished BullMQ jobs removed per queue and state in one cleanup; the next takes the rest. */
const CLEAN_BATCH = 10_000;

/** States in which a page is queued and not yet taken by a worker (MAX_QUEUED_PAGES). */
const QUEUED_STATES: JobType[] = ['waiting', 'prioritized', 'delayed'];

const CLEANUP_SCHEDULER = 'cleanup';

/**
 * The one owner of the queue side of a document's life: it alone opens BullMQ's queues and flow
 * producer, and knows how each kind of job is queued (its queue, its options, its parent, its
 * turn among the tenants' pages: FairShare). The API and the workers ask it; nothing else adds or
 * removes a job.
 */
export class Dispatcher {
  private readonly queues: ReadonlyMap<QueueName, Queue>;
  private readonly flows: FlowProducer;
  private readonly fair: FairShare;

  constructor(
    private readonly config: Config,
    connection: RedisClient,
    log: Logger,
  ) {
    const options = { connection, prefix: config.QUEUE_PREFIX };
    this.queues = new Map(Object.values(QUEUES).map((name) => [name, new Queue(name, options)]));
    this.flows = new FlowProducer(options);
    const tenants = new TenantDirectory(config);
    this.fair = new FairShare(
      connection,
      config.QUEUE_PREFIX,
      new HeartbeatStore(connection, config.QUEUE_PREFIX, config.HEARTBEAT_INTERVAL_MS),
      (tenant) => tenants.named(tenant).weight,
    );
    const onError = (err: Error) => log.warn({ err }, 'queue error');
    for (const queue of this.queues.values()) queue.on('error', onError);
    this.flows.on('error', onError);
  }

  queue(name: QueueName): Queue {
    return this.queues.get(name) as Queue;
  }

  /** Every queue: for their depth, the dashboard and the cleanup. */
  get all(): Queue[] {
    return [...this.queues.values()];
  }

  get pageQueues(): Queue[] {
    return PAGE_QUEUE_NAMES.map((name) => this.queue(name));
  }

  /**
   * A document's flow, in one step: its document job, whose children are its pages, each in its
   * page queue by its predicted pixels, except those of the PDFs in `split`, which one split job
   * per file queues once it has made one-page PDFs of them. The pages are held, then released in
   * their tenant's turn.
   */
  async enqueueDocument(job: DocumentJob, pages: readonly PageJob[], split: ReadonlySet<string>): Promise<void> {
    const direct: FlowJobNode[] = [];
    const bySplit = new Map<string, PageJob[]>();
    for (const page of pages) {
      if (split.has(page.source.file)) {
        const filePages = bySplit.get(page.source.file) ?? [];
        filePages.push(page);
        bySplit.set(page.source.file, filePages);
        continue;
      }
      direct.push({ name: 'page', queueName: this.pageQueueOf(page), data: page, opts: this.heldOptions(page) });
    }
    const splits = [...bySplit].map(([file, filePages]) => {
      const data: SplitJob = { documentId: job.documentId, file, pages: filePages };
      return { name: 'split', queueName: QUEUES.splits, data, opts: this.options(QUEUES.splits, data) };
    });
    await this.flows.add({
      name: 'document',
      queueName: QUEUES.documents,
      data: job,
      opts: this.options(QUEUES.documents, job),
      children: [...direct, ...splits],
    });
    await this.holdAndRelease(direct.map((node) => node.data as PageJob));
  }

  /**
   * The pages of a split PDF, as children of their document's job. A retry (the split's worker
   * died) skips the pages an earlier run queued: BullMQ would make a page that already failed a
   * dependency of its document again, which would then wait for it forever. A page the earlier
   * run queued may not have been held (it died between the two): those still delayed are held
   * again (a page held twice is promoted once).
   */
  async enqueueSplitPages(documentId: string, pages: readonly PageJob[]): Promise<void> {
    const parent = { id: documentId, queue: this.queue(QUEUES.documents).qualifiedName };
    const states = await Promise.all(
      pages.map((page) => this.queue(this.pageQueueOf(page)).getJobState(pageJobId(documentId, page.page))),
    );
    const fresh = pages.filter((_, index) => states[index] === 'unknown');
    for (const [name, jobs] of this.byQueue(fresh)) {
      await this.queue(name).addBulk(
        jobs.map((page) => ({ name: 'page', data: page, opts: { ...this.heldOptions(page), parent } })),
      );
    }
    await this.holdAndRelease(pages.filter((_, index) => states[index] === 'unknown' || states[index] === 'delayed'));
  }

  /**
   * Releases the pages of a queue's tenants in turn, up to the slots the fleet has for it: when a
   * worker takes a page, and on every worker's tick.
   */
  release(name: PageQueueName): Promise<number> {
    return this.fair.release(this.queue(name), name);
  }

  /**
   * Every page queue's release, after promoting the pages whose releaser died before it could:
   * each worker's safety net for releases missed (a releaser that died between its two steps, an
   * API that died between holding pages and releasing them).
   */
  async tick(): Promise<void> {
    for (const name of PAGE_QUEUE_NAMES) {
      await this.fair.promoteStale(this.queue(name), name);
      await this.release(name);
    }
  }

  /** Removes a canceled document's jobs still queued: its document job takes its waiting pages with it. */
  async cancel(documentId: string, pages: readonly number[]): Promise<void> {
    if ((await this.queue(QUEUES.documents).remove(documentId, { removeChildren: true })) > 0) return;
    for (const page of pages) {
      for (const queue of this.pageQueues) await queue.remove(pageJobId(documentId, page));
    }
  }

  /**
   * Queues a document's own job again, for a document Redis lost or whose job is gone: a job that
   * has ended (failed for good, or completed before the state it wrote was lost) is replaced; one
   * waiting for its pages or running is left as it is.
   */
  async requeueDocument(job: DocumentJob): Promise<void> {
    const documents = this.queue(QUEUES.documents);
    const existing = await documents.getJob(job.documentId);
    if (existing) {
      const state = await existing.getState();
      if (state !== 'failed' && state !== 'completed') return;
      // Its pages stay: a reconcile that read the document running just before it completed
      // replaces a job that needed no replacing, and must not take the pages' records with it.
      await existing.remove({ removeChildren: false });
    }
    await documents.add('document', job, this.options(QUEUES.documents, job));
  }

  /** One webhook job per document: its id dedupes the worker's and the API's (cancel) enqueues. */
  async queueWebhook(documentId: string): Promise<void> {
    const job: WebhookJob = { documentId };
    await this.queue(QUEUES.webhooks).add('webhook', job, this.options(QUEUES.webhooks, job));
  }

  /** Pages queued in every page queue and not yet taken by a worker. */
  async queuedPages(): Promise<number> {
    const counts = await Promise.all(this.pageQueues.map((queue) => queue.getJobCounts(...QUEUED_STATES)));
    return counts.reduce((sum, count) => sum + QUEUED_STATES.reduce((n, state) => n + (count[state] ?? 0), 0), 0);
  }

  /** Pages a worker could take now from one page queue (the fetch watchdog's question). */
  waitingIn(name: PageQueueName): Promise<number> {
    return this.queue(name).getJobCountByTypes('wait', 'prioritized');
  }

  /**
   * Every worker schedules the same cleanup (an upsert: one scheduler whatever the replicas), and
   * whichever worker is free runs each occurrence. Again after Redis lost its data, scheduler included.
   */
  async scheduleCleanup(): Promise<void> {
    await this.queue(QUEUES.maintenance).upsertJobScheduler(
      CLEANUP_SCHEDULER,
      { every: this.config.CLEANUP_INTERVAL_MS },
      { name: CLEANUP_SCHEDULER, opts: this.options(QUEUES.maintenance, undefined) },
    );
  }

  /** Removes finished jobs older than `ageMs` (BullMQ trims them only when another job finishes). */
  async cleanFinished(ageMs: number): Promise<number> {
    let removed = 0;
    for (const queue of this.queues.values()) {
      for (const state of ['completed', 'failed'] as const) {
        removed += (await queue.clean(ageMs, CLEAN_BATCH, state)).length;
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    await Promise.all([...this.all.map((queue) => queue.close()), this.flows.close()]);
  }

  private async holdAndRelease(pages: readonly PageJob[]): Promise<void> {
    for (const [name, jobs] of this.byQueue(pages)) {
      await this.fair.hold(this.queue(name), name, jobs);
      await this.release(name);
    }
  }

  private byQueue(pages: readonly PageJob[]): Map<PageQueueName, PageJob[]> {
    const byQueue = new Map<PageQueueName, PageJob[]>();
    for (const page of pages) {
      const name = this.pageQueueOf(page);
      const jobs = byQueue.get(name) ?? [];
      jobs.push(page);
      byQueue.set(name, jobs);
    }
    return byQueue;
  }

  /** A page's options, held: delayed until released (see FairShare). */
  private heldOptions(page: PageJob): JobsOptions {
    return { ...this.options(QUEUES.pages, page), delay: HOLD_DELAY_MS };
  }

  private pageQueueOf(page: PageJob): PageQueueName {
    return pageQueueFor(page, this.config.LARGE_PAGE_PIXELS);
  }

  private options<Q extends QueueName>(queue: Q, data: QueuePayloads[Q]): JobsOptions {
    return QUEUE_DEFINITIONS[queue].options(this.config, data);
  }
}
