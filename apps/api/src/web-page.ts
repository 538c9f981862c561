import { fileURLToPath } from 'node:url';
import express, { type RequestHandler } from 'express';

// Built by build-web.mjs; the same folder from src (tests) and dist (production).
const WEB_DIR = fileURLToPath(new URL('../dist/web/', import.meta.url));

/** The page may run its own script and style, load page images it fetched, and call this API: nothing else. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** `/`: the page to drop files on and watch them being read, and its script and stylesheet. */
export function webPage(): RequestHandler {
  // The page's own policy only on the files it serves: every other answer keeps the API's.
  return express.static(WEB_DIR, {
    index: 'index.html',
    redirect: false,
    setHeaders: (res) => res.setHeader('Content-Security-Policy', CSP),
  });
}
