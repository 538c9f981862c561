import { checkPublicHost, PrivateAddressError, UnprocessableError, type Config } from '@pagefleet/shared';

/**
 * A submission's callbackUrl is refused up front, not at delivery time, when the server cannot
 * sign webhooks or the host resolves nowhere or to a private address: the client learns it now,
 * with the reason. Delivery checks the address again, for hosts whose DNS changes meanwhile.
 */
export async function checkCallbackUrl(
  url: string,
  config: Pick<Config, 'WEBHOOK_SECRET' | 'WEBHOOK_ALLOW_PRIVATE'>,
): Promise<void> {
  if (!config.WEBHOOK_SECRET) {
    throw new UnprocessableError(
      'bad_callback',
      'this server sends no webhooks (WEBHOOK_SECRET is not set): poll the job or use its events',
    );
  }
  try {
    await checkPublicHost(new URL(url).hostname, config.WEBHOOK_ALLOW_PRIVATE);
  } catch (err) {
    if (err instanceof PrivateAddressError) throw new UnprocessableError('bad_callback', `callbackUrl: ${err.message}`);
    throw new UnprocessableError(
      'bad_callback',
      `callbackUrl: its host cannot be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}
