/** `[########----------]  4/10 pages  (1 failed)`: what the bar shows after each page event. */
export function progressBar(done: number, failed: number, total: number, width = 30): string {
  const ended = Math.min(total, done + failed);
  const filled = total === 0 ? width : Math.round((ended / total) * width);
  const counts = `${String(ended).padStart(String(total).length)}/${total} pages`;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${counts}${failed > 0 ? ` (${failed} failed)` : ''}`;
}
