import type { MemoryProfile } from '../../../apps/worker/src/capacity/profile.js';

export interface MemoryReport {
  machine: { cpus: number; memoryBytes: number; node: string };
  config: { dpi: number; maxPagePixels: number; largePagePixels: number };
  slots: {
    pages: string;
    pageCount: number;
    runs: Array<{ slots: number; peakBytes: number; pagesPerMinute: number; status: string }>;
    baseBytes: number;
    slotBytes: number;
  };
  documents: {
    pagesPerDocument: number;
    documentBytes: number;
    workerSlots: number;
    runs: Array<{
      documents: number;
      apiIdleBytes: number;
      apiPeakBytes: number;
      workerPeakBytes: number;
      queuedPages: number;
    }>;
  };
  hostile: {
    budgetBytes: number;
    budgetFrom: string;
    runs: Array<{ file: string; peakBytes: number; status: string; detail: string }>;
  };
  profile: MemoryProfile;
  tiers: Array<{
    tier: string;
    pagesSlots: number;
    largeSlots: number;
    predictedPeakBytes: number;
    measuredPeakBytes?: number;
  }>;
}

const MB = (bytes: number) => Math.round(bytes / 1e6);

function tierTable(report: MemoryReport): string {
  const rows = report.tiers.map(
    (tier) =>
      `| ${tier.tier} | ${tier.pagesSlots} | ${tier.largeSlots} | ${MB(tier.predictedPeakBytes)} MB | ${tier.measuredPeakBytes === undefined ? '—' : `${MB(tier.measuredPeakBytes)} MB`} |`,
  );
  return [
    `Measured ${report.profile.measured.at} (${report.profile.measured.on}) on ${report.slots.pages}. ` +
      `Slots are also capped by CPUs; \`pages\` slots are priced for pages up to LARGE_PAGE_PIXELS (${report.config.largePagePixels}), ` +
      `\`pages-large\` slots for MAX_PAGE_PIXELS (${report.config.maxPagePixels}).`,
    '',
    '| tier | `pages` slots | `pages-large` slots | predicted peak RSS | measured peak RSS at that many slots |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function xychart(
  title: string,
  xLabel: string,
  x: Array<string | number>,
  yLabel: string,
  series: Array<{ kind: 'bar' | 'line'; values: number[] }>,
): string {
  const max = Math.max(...series.flatMap((s) => s.values));
  return [
    '```mermaid',
    'xychart-beta',
    `  title "${title}"`,
    `  x-axis "${xLabel}" [${x.map((v) => `"${v}"`).join(', ')}]`,
    `  y-axis "${yLabel}" 0 --> ${Math.ceil((max * 1.2) / 100) * 100}`,
    ...series.map((s) => `  ${s.kind} [${s.values.join(', ')}]`),
    '```',
  ].join('\n');
}

export function renderMemoryReport(report: MemoryReport): string {
  const { slots, documents, hostile, profile } = report;
  const first = documents.runs[0];
  const last = documents.runs.at(-1);
  return `# Memory: bounded by worker slots, not by requests

Produced by \`npm run bench:memory\` on ${report.machine.cpus} CPUs, ${MB(report.machine.memoryBytes)} MB, Node ${report.machine.node}; every figure is the peak RSS of a real process and its children (pdftoppm), sampled from \`/proc\` every 50 ms. Raw numbers: [memory.json](memory.json).

## 1. Slots: what a worker and each of its slots cost

One worker taking \`pages\`, ${slots.pageCount} pages: ${slots.pages}.

${xychart(
  'Worker peak RSS by slots (MB)',
  'slots',
  slots.runs.map((r) => r.slots),
  'MB',
  [
    { kind: 'bar', values: slots.runs.map((r) => MB(r.peakBytes)) },
    { kind: 'line', values: slots.runs.map((r) => MB(slots.baseBytes + r.slots * slots.slotBytes)) },
  ],
)}

| slots | worker peak RSS | pages/min | document |
|---|---|---|---|
${slots.runs.map((r) => `| ${r.slots} | ${MB(r.peakBytes)} MB | ${r.pagesPerMinute} | ${r.status} |`).join('\n')}

Least-squares fit (the line): **base ${MB(slots.baseBytes)} MB + ${MB(slots.slotBytes)} MB per slot**. A large page costs a slot ${profile.bytesPerPixel} bytes per pixel beyond ${profile.slotPixels} (from part 3). The worker reads these from \`apps/worker/memory-profile.json\`, which this benchmark writes, to choose its slots: \`min(CPUs, floor((budget − base) / perSlot))\`.

## 2. Documents at once: the line stays flat

${documents.runs.map((r) => r.documents).join(', ')} documents of ${documents.pagesPerDocument} pages (${MB(documents.documentBytes)} MB each) uploaded at the same time; the API's peak during the uploads, then the worker's (${documents.workerSlots} slots) while it works through the queue.

${xychart(
  'Peak RSS by documents uploaded at once (MB)',
  'documents',
  documents.runs.map((r) => r.documents),
  'MB',
  [
    { kind: 'line', values: documents.runs.map((r) => MB(r.workerPeakBytes)) },
    { kind: 'line', values: documents.runs.map((r) => MB(r.apiPeakBytes)) },
  ],
)}

Upper line: worker; lower line: API.

| documents | pages queued | uploaded | API idle | API peak | worker peak |
|---|---|---|---|---|---|
${documents.runs.map((r) => `| ${r.documents} | ${r.queuedPages} | ${MB(r.documents * documents.documentBytes)} MB | ${MB(r.apiIdleBytes)} MB | ${MB(r.apiPeakBytes)} MB | ${MB(r.workerPeakBytes)} MB |`).join('\n')}
${first && last ? `\nFrom ${first.documents} to ${last.documents} documents: API peak ${MB(last.apiPeakBytes - first.apiPeakBytes) >= 0 ? '+' : ''}${MB(last.apiPeakBytes - first.apiPeakBytes)} MB, worker peak ${(((last.workerPeakBytes - first.workerPeakBytes) / first.workerPeakBytes) * 100).toFixed(1)} %.\n` : ''}
## 3. Hostile pages

A worker with one \`pages-large\` slot; its budget from the profile measured before this run (${hostile.budgetFrom}) is base + one large slot = ${MB(hostile.budgetBytes)} MB.

| file | worker peak RSS | within budget | outcome |
|---|---|---|---|
${hostile.runs.map((r) => `| ${r.file} | ${MB(r.peakBytes)} MB | ${r.peakBytes <= hostile.budgetBytes ? 'yes' : `no (+${MB(r.peakBytes - hostile.budgetBytes)} MB)`} | ${r.status}: ${r.detail.replace(/\|/g, '\\|')} |`).join('\n')}

## Memory tiers

${tierTable(report)}
`;
}
