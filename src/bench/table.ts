// Small helpers shared by the benchmark commands: robust summaries (their tables: util/markdown-table.ts).

/** v rounded to `digits` decimals, for the benchmarks' JSON lines. */
export const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;

export { median } from '../metrics/stats.js';
