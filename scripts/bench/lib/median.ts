/** The median run by `value` (the upper one of an even count). */
export function medianBy<T>(runs: readonly T[], value: (run: T) => number): T {
  return [...runs].sort((x, y) => value(x) - value(y))[Math.floor(runs.length / 2)] as T;
}
