export const USAGE = `pagefleet — OCR of PDFs and scans through a pagefleet server

usage:
  pagefleet submit FILE… [--languages eng+deu] [--dpi 300] [--pages 1-3,7,10-] [--force-ocr]
                         [--engine tesseract|paddle|auto] [--priority interactive|batch] [--wait]
                         [--output text|json|pdf] [--out PATH]
  pagefleet status ID
  pagefleet result ID [--output text|json|pdf] [--out PATH]
  pagefleet cancel ID
  pagefleet workers

options:
  --json        print the command's answer as JSON on stdout, for scripts (no progress bar)
  --wait        (submit) follow the job until it ends, with a progress bar on stderr, then write its result
  --pages P     (submit) only these pages, 1-based over the files' pages in order: 1-3,7,10-
  --force-ocr   (submit) OCR every page, even where the PDF carries a text layer (read from it by default)
  --engine E    (submit) tesseract (default), paddle (PP-OCRv4: receipts, photos) or auto, chosen per page
  --priority P  (submit) batch (default) or interactive: a person waits; goes before the tenant's batch pages
  --output F    text (default), json or pdf; submit asks the server for a PDF when F is pdf
  --out PATH    write the result there instead of stdout
  -h, --help    this text

environment:
  PAGEFLEET_URL      the server (default http://127.0.0.1:3000)
  PAGEFLEET_API_KEY  one of its API_KEYS, when it has any

exit status: 0 done, 1 refused by the server, 2 usage, 3 job failed, partial or canceled, 4 server unreachable`;

export const EXIT = { done: 0, refused: 1, usage: 2, jobFailed: 3, unreachable: 4 } as const;

/** A mistake in the command line: exit 2 with usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}
