import { createWriteStream, openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { parseArgs } from 'node:util';
import {
  FINISHED,
  PagefleetClient,
  ProblemError,
  UnreachableError,
  type EngineChoice,
  type Job,
  type Output,
  type Priority,
} from '@pagefleet/client';
import { progressBar } from './progress.js';
import { EXIT, USAGE, UsageError } from './usage.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

const FORMATS = ['text', 'json', 'pdf'] as const;
type Format = (typeof FORMATS)[number];

const OPTIONS = {
  json: { type: 'boolean' },
  wait: { type: 'boolean' },
  languages: { type: 'string' },
  dpi: { type: 'string' },
  pages: { type: 'string' },
  'force-ocr': { type: 'boolean' },
  engine: { type: 'string' },
  priority: { type: 'string' },
  output: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

interface Command {
  client: PagefleetClient;
  args: string[];
  values: Values;
  io: Io;
}

const jobExit = (job: Job) => (job.status === 'completed' ? EXIT.done : EXIT.jobFailed);

function format(values: Values): Format {
  const output = values.output ?? 'text';
  if (!(FORMATS as readonly string[]).includes(output))
    throw new UsageError(`--output must be one of ${FORMATS.join(', ')}`);
  return output as Format;
}

function single(args: string[], what: string): string {
  if (args.length !== 1) throw new UsageError(`expected one ${what}`);
  return args[0] as string;
}

const print = (io: Io, value: unknown) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** The job's result in `output` to --out, or stdout; a PDF never goes to a terminal. */
async function writeResult(client: PagefleetClient, job: Job, output: Format, values: Values, io: Io): Promise<void> {
  if (output === 'pdf' && !values.out && io.stdout.isTTY)
    throw new UsageError('a PDF needs --out PATH (or stdout redirected to a file)');
  const file = values.out ? createWriteStream(values.out) : undefined;
  const target = file ?? io.stdout;
  if (output === 'pdf') {
    const response = await client.pdf(job.id);
    await pipeline(Readable.fromWeb(response.body as WebReadableStream), target, { end: file !== undefined });
    return;
  }
  if (output === 'text') {
    target.write(await client.text(job.id));
  } else {
    // One page at a time: a thousand-page result is streamed, never held whole.
    target.write(
      `{"id":${JSON.stringify(job.id)},"status":${JSON.stringify(job.status)},"pageCount":${job.pageCount},"pages":[`,
    );
    let first = true;
    for await (const page of client.pages(job.id)) {
      target.write(`${first ? '' : ','}\n${JSON.stringify(page)}`);
      first = false;
    }
    target.write('\n]}\n');
  }
  if (file) await finished(file.end());
}

/** Follows the job's events to its end: a bar redrawn in place on a terminal, one line per page otherwise. */
async function follow(client: PagefleetClient, id: string, io: Io, quiet: boolean): Promise<Job> {
  const draw = (line: string) => {
    if (quiet) return;
    io.stderr.write(io.stderr.isTTY ? `\r${line}` : `${line}\n`);
  };
  let job: Job | undefined;
  for await (const event of client.events(id)) {
    if (event.type === 'state') {
      job = event.job;
      draw(progressBar(job.pagesDone, job.pagesFailed, job.pageCount));
    } else if (event.type === 'page') {
      draw(progressBar(event.pagesDone, event.pagesFailed, job?.pageCount ?? event.pagesDone + event.pagesFailed));
    } else {
      job = event.job;
      draw(progressBar(job.pagesDone, job.pagesFailed, job.pageCount));
    }
  }
  if (!quiet && io.stderr.isTTY) io.stderr.write('\n');
  return job ?? (await client.job(id));
}

async function submit({ client, args, values, io }: Command): Promise<number> {
  if (args.length === 0) throw new UsageError('submit needs at least one FILE');
  const output = format(values);
  if (values.dpi !== undefined && !/^\d+$/.test(values.dpi)) throw new UsageError('--dpi must be a whole number');
  const files = await Promise.all(
    args.map(async (file) => {
      try {
        // A Blob backed by the file: the upload streams from disk.
        return { name: basename(file), data: await openAsBlob(file) };
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }),
  );
  const outputs: Output[] = output === 'pdf' ? ['text', 'json', 'pdf'] : ['text', 'json'];
  const accepted = await client.submit(files, {
    languages: values.languages,
    dpi: values.dpi === undefined ? undefined : Number(values.dpi),
    pages: values.pages,
    forceOcr: values['force-ocr'],
    engine: values.engine as EngineChoice | undefined,
    priority: values.priority as Priority | undefined,
    outputs,
  });
  if (!values.wait) {
    if (values.json) print(io, accepted);
    else io.stdout.write(`${accepted.id}\n`);
    return EXIT.done;
  }
  if (!values.json)
    io.stderr.write(`job ${accepted.id}: ${accepted.pageCount} page${accepted.pageCount === 1 ? '' : 's'}\n`);
  const job = await follow(client, accepted.id, io, values.json === true);
  if (values.json) print(io, job);
  else io.stderr.write(`job ${job.id} ${job.status}${job.error ? `: ${job.error}` : ''}\n`);
  if (job.status !== 'canceled' && job.pagesDone > 0 && (!values.json || values.out))
    await writeResult(client, job, output, values, io);
  return jobExit(job);
}

async function status({ client, args, values, io }: Command): Promise<number> {
  const job = await client.job(single(args, 'job ID'));
  if (values.json) print(io, job);
  else
    io.stdout.write(
      `${job.id} ${job.status} ${job.pagesDone}/${job.pageCount} pages${job.pagesFailed ? `, ${job.pagesFailed} failed` : ''}${job.error ? `: ${job.error}` : ''}\n`,
    );
  return FINISHED.has(job.status) ? jobExit(job) : EXIT.done;
}

async function result({ client, args, values, io }: Command): Promise<number> {
  const job = await client.job(single(args, 'job ID'));
  const output = values.json ? 'json' : format(values);
  await writeResult(client, job, output, values, io);
  return jobExit(job);
}

async function cancel({ client, args, values, io }: Command): Promise<number> {
  const id = single(args, 'job ID');
  await client.cancel(id);
  if (values.json) print(io, { id, status: 'canceled' });
  else io.stdout.write(`${id} canceled\n`);
  return EXIT.done;
}

async function workers({ client, values, io }: Command): Promise<number> {
  const list = await client.workers();
  if (values.json) {
    print(io, list);
    return EXIT.done;
  }
  if (list.length === 0) io.stdout.write('no live workers\n');
  for (const worker of list) {
    const rss = Math.round(worker.rssBytes / 2 ** 20);
    io.stdout.write(
      `${worker.id}  ${worker.host}  busy ${worker.busy}/${worker.concurrency}  pages done ${worker.pagesDone}  ${rss} MiB\n`,
    );
  }
  return EXIT.done;
}

const COMMANDS: Record<string, (command: Command) => Promise<number>> = { submit, status, result, cancel, workers };

/** Runs one command line; resolves with the exit status. */
export async function run(argv: string[], io: Io): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const [name, ...args] = parsed.positionals;
    if (parsed.values.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT.done;
    }
    const command = name === undefined ? undefined : COMMANDS[name];
    if (!command) throw new UsageError(name === undefined ? 'no command' : `unknown command ${name}`);
    const client = new PagefleetClient({
      url: io.env.PAGEFLEET_URL ?? 'http://127.0.0.1:3000',
      apiKey: io.env.PAGEFLEET_API_KEY,
    });
    return await command({ client, args, values: parsed.values, io });
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`pagefleet: ${err.message}\n\n${USAGE}\n`);
      return EXIT.usage;
    }
    if (err instanceof UnreachableError) {
      io.stderr.write(`pagefleet: ${err.message}\n`);
      return EXIT.unreachable;
    }
    if (err instanceof ProblemError) {
      io.stderr.write(`pagefleet: ${err.message}\n`);
      return EXIT.refused;
    }
    throw err;
  }
}
