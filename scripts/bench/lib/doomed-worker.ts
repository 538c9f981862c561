// A BullMQ worker for bench:recovery, in a process of its own so that it can be SIGKILLed: it
// takes one job, says so on stdout, and never finishes it.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [url, queue, lockDuration, stalledInterval] = process.argv.slice(2);
const connection = new Redis(url as string, { maxRetriesPerRequest: null });
new Worker(
  queue as string,
  async (job) => {
    console.log(JSON.stringify({ active: job.id }));
    await new Promise(() => undefined);
  },
  { connection, lockDuration: Number(lockDuration), stalledInterval: Number(stalledInterval), concurrency: 1 },
);
