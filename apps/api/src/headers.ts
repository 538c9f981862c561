import type { RequestHandler } from 'express';

/**
 * Headers for an API that serves JSON and text only: nothing it answers may be framed, sniffed
 * into HTML, run as script, or kept by a shared cache (results are private documents).
 */
export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  });
  next();
};
