// Builds the page served at `/` into dist/web: app.ts bundled with the client by esbuild, the
// HTML and stylesheet copied. Type checking is tsc's (npm run typecheck), not esbuild's.
import { copyFile, mkdir } from 'node:fs/promises';
import { build } from 'esbuild';

const out = new URL('./dist/web/', import.meta.url);
await mkdir(out, { recursive: true });
await build({
  entryPoints: [new URL('./web/app.ts', import.meta.url).pathname],
  outfile: new URL('app.js', out).pathname,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
for (const file of ['index.html', 'app.css', 'favicon.svg'])
  await copyFile(new URL(`./web/${file}`, import.meta.url), new URL(file, out));
