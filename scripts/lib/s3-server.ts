import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './redis-server.js';

export interface S3Server {
  /** What API and workers need to use the bucket: STORAGE=s3 and the S3_* and AWS_* variables. */
  env: Record<string, string>;
  port: number;
  /** Where it keeps its objects: a restart over it finds them again. */
  dir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** s3rver's fixed credentials: it checks signatures made with them. */
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

const s3rverBin = () => {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
};

/**
 * A real S3 server (s3rver, which speaks the protocol the AWS SDK does) on a free loopback port,
 * keeping its objects in `dir`, with `bucket` created through the S3 API. `port` restarts a
 * stopped server where its clients expect it.
 */
export async function startS3Server(dir: string, bucket: string, port?: number): Promise<S3Server> {
  const listen = port ?? (await freePort());
  const child = spawn(process.execPath, [s3rverBin(), '-d', dir, '-a', '127.0.0.1', '-p', String(listen), '-s'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const env = {
    STORAGE: 's3',
    S3_BUCKET: bucket,
    S3_ENDPOINT: `http://127.0.0.1:${listen}`,
    S3_FORCE_PATH_STYLE: 'true',
    S3_REGION: 'us-east-1',
    ...CREDENTIALS,
  };
  const client = new S3Client({
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: CREDENTIALS.AWS_SECRET_ACCESS_KEY },
  });
  const until = Date.now() + 10_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`s3rver exited with ${child.exitCode}`);
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        break;
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        // Already there: a restart over the same folder.
        if (status === 409) break;
        if (Date.now() > until) throw new Error('s3rver did not answer within 10 s', { cause: err });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } finally {
    client.destroy();
  }
  return {
    env,
    port: listen,
    dir,
    child,
    async stop() {
      // Killed by a signal, a child keeps exitCode null: signalCode says it has gone.
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
