export interface ScaleRun {
  workers: number;
  seconds: number;
  pagesPerMinute: number;
  /** pagefleet only: mean seconds per page in each stage, from the workers' own timings. */
  stageSecondsPerPage?: Record<string, number>;
  /** Pages/min of every run of this configuration; the figures above are the median run's. */
  everyRun?: number[];
}

export interface ScaleReport {
  measuredAt: string;
  machine: { cpus: number; memoryBytes: number; node: string };
  pages: { count: number; perDocument: number; dpi: number; describe: string };
  /** Runs of each configuration, alternating pagefleet and native; the median is reported. */
  repeat: number;
  pagefleet: ScaleRun[];
  /** Native tesseract, K processes at a time; empty where it is not installed. */
  native: ScaleRun[];
}

/** Throughput at K over K times the throughput at 1: 1 is perfect scaling. */
export function efficiencies(runs: ScaleRun[]): Map<number, number> {
  const one = runs.find((run) => run.workers === 1);
  return new Map(
    runs.map((run) => [run.workers, one ? run.pagesPerMinute / (run.workers * one.pagesPerMinute) : Number.NaN]),
  );
}

/** pagefleet must keep at least this share of native tesseract's efficiency at every K. */
export const TARGET_SHARE = 0.95;

const fixed = (value: number | undefined, digits = 2) =>
  value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits);

export function renderScaleReport(report: ScaleReport): { markdown: string; summary: string } {
  const ours = efficiencies(report.pagefleet);
  const theirs = efficiencies(report.native);
  const rows = report.pagefleet.map((run) => {
    const native = report.native.find((entry) => entry.workers === run.workers);
    const share = (ours.get(run.workers) ?? Number.NaN) / (theirs.get(run.workers) ?? Number.NaN);
    return { run, native, share };
  });
  const table = [
    '| workers K | pagefleet pages/min | efficiency | native pages/min | native efficiency | pagefleet ÷ native efficiency | target ≥ 0.95 |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      ({ run, native, share }) =>
        `| ${run.workers} | ${fixed(run.pagesPerMinute, 1)} | ${fixed(ours.get(run.workers))} | ${fixed(native?.pagesPerMinute, 1)} | ${fixed(native && theirs.get(run.workers))} | ${fixed(share)} | ${Number.isNaN(share) ? '—' : share >= TARGET_SHARE ? 'met' : 'missed'} |`,
    ),
  ].join('\n');
  const stages = report.pagefleet
    .map(
      (run) =>
        `| ${run.workers} | ${Object.entries(run.stageSecondsPerPage ?? {})
          .map(([stage, s]) => `${stage} ${s.toFixed(2)} s`)
          .join(', ')} |`,
    )
    .join('\n');
  const ks = report.pagefleet.map((run) => run.workers);
  const line = (values: Array<number | undefined>) => `[${values.map((value) => fixed(value)).join(', ')}]`;
  const markdown = `# Scaling: pagefleet workers against native Tesseract

Written by \`npm run bench:scale\` on ${report.measuredAt}: ${report.machine.cpus} CPUs, ${Math.round(report.machine.memoryBytes / 1e9)} GB, Node ${report.machine.node}.
${report.pages.count} pages (${report.pages.describe}, ${report.pages.perDocument} to a document, rendered at ${report.pages.dpi} DPI), the same pages for every run.
Each configuration ran ${report.repeat} times, pagefleet and native alternating; the tables show the median run (every run's pages/min is in docs/scale.json).

- **pagefleet**: one Redis, the API, and K worker processes with one page slot each, fed through the API
  (submit every document, follow each one's event stream to its end); timed from the first submission
  to the last page, with every worker already ready.
- **native**: \`pdftoppm -r ${report.pages.dpi} -gray\` piped into \`tesseract --oem 1 --psm 3\` with the same
  traineddata (the npm package's best_int English model), \`OMP_THREAD_LIMIT=1\`, K pages at a time.
- **efficiency** at K = pages/min at K ÷ (K × pages/min at 1). Target: pagefleet's efficiency ≥ 0.95 ×
  native's at every K, i.e. the queue and the fleet add no scaling loss of their own.

${table}

\`\`\`mermaid
xychart-beta
  title "Scaling efficiency (1 = perfect)"
  x-axis "workers K" [${ks.join(', ')}]
  y-axis "efficiency" 0 --> 1.1
  line ${line(ks.map((k) => ours.get(k)))}
  line ${line(ks.map((k) => theirs.get(k)))}
\`\`\`
First line: pagefleet; second: native tesseract${report.native.length === 0 ? ' (not installed on this machine: no values)' : ''}.

\`\`\`mermaid
xychart-beta
  title "Pages per minute"
  x-axis "workers K" [${ks.join(', ')}]
  y-axis "pages/min"
  bar ${line(report.pagefleet.map((run) => run.pagesPerMinute))}
  line ${line(ks.map((k) => report.native.find((run) => run.workers === k)?.pagesPerMinute))}
\`\`\`
Bars: pagefleet; line: native tesseract.

Mean seconds per page in each pagefleet stage (the workers' own timings):

| workers K | stages |
|---|---|
${stages}
`;
  const summary = rows
    .map(
      ({ run, share }) =>
        `K=${run.workers}: pagefleet efficiency ${fixed(ours.get(run.workers))}, native ${fixed(theirs.get(run.workers))}, share ${fixed(share)}${Number.isNaN(share) ? '' : share >= TARGET_SHARE ? ' (target met)' : ' (target missed)'}`,
    )
    .join('\n');
  return { markdown, summary };
}
