// Small helpers shared by the benchmark commands: robust summaries (their tables: util/markdown-table.ts).

/** v rounded to `digits` decimals, for the benchmarks' JSON lines. */
export const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
