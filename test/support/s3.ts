import type { S3Server } from '../../scripts/lib/s3-server.js';

/**
 * Stores opened in this process find their credentials where the AWS SDK's default chain looks
 * for them in production: the environment.
 */
export function useS3Credentials(server: S3Server): void {
  process.env.AWS_ACCESS_KEY_ID = server.env.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = server.env.AWS_SECRET_ACCESS_KEY;
}
