const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  ki: 2 ** 10,
  mi: 2 ** 20,
  gi: 2 ** 30,
  ti: 2 ** 40,
};

/**
 * Parses a memory size the way Kubernetes writes one: `512Mi`, `1Gi`, `1.5G`, `800M`, or bytes.
 * Binary suffixes (Ki, Mi, Gi, Ti) are powers of 1024, decimal ones (k, M, G, T) of 1000.
 */
export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?\s*$/i.exec(text);
  if (!match) return undefined;
  const factor = UNITS[(match[2] ?? '').toLowerCase()];
  if (factor === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * factor);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** Bytes as whole mebibytes, for logs and tables. */
export const mebibytes = (bytes: number) => Math.round(bytes / 2 ** 20);
