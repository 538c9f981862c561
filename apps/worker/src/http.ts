import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { problemBody, type Logger, type Registry } from '@pagefleet/shared';

export interface ProbeServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Each check by name; the worker is ready when all pass. */
  checks: () => Promise<Record<string, boolean>>;
  log: Logger;
}

export interface ProbeServer {
  port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
}

/**
 * The worker's own small HTTP server for Prometheus and the orchestrator: `/metrics`, `/health`
 * (the process is alive) and `/ready` (Redis answers and the OCR engine starts). node:http is
 * enough for three read-only routes; the worker has no other HTTP to do.
 */
export async function startProbeServer(options: ProbeServerOptions): Promise<ProbeServer> {
  const server: Server = createServer((req, res) => {
    const route = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    const answer = async () => {
      switch (route) {
        case 'GET /health':
          return send(res, 200, 'application/json', JSON.stringify({ status: 'ok' }));
        case 'GET /ready': {
          const checks = await options.checks();
          const failing = Object.entries(checks)
            .filter(([, ok]) => !ok)
            .map(([name]) => name);
          if (failing.length === 0)
            return send(res, 200, 'application/json', JSON.stringify({ status: 'ready', checks }));
          res.setHeader('retry-after', '5');
          return send(
            res,
            503,
            'application/problem+json',
            problemBody(503, 'not_ready', 'Not ready', `failing checks: ${failing.join(', ')}`),
          );
        }
        case 'GET /metrics':
          return send(res, 200, options.registry.contentType, await options.registry.metrics());
        default:
          return send(
            res,
            404,
            'application/problem+json',
            problemBody(404, 'not_found', 'Not found', `no route for ${route}`),
          );
      }
    };
    answer().catch((err: unknown) => {
      options.log.error({ err, route }, 'probe request failed');
      if (!res.headersSent)
        send(res, 500, 'application/problem+json', problemBody(500, 'internal', 'Internal error', 'the probe failed'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
