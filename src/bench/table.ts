// Small helpers shared by the benchmark commands: robust summaries and aligned text tables.

/** v rounded to `digits` decimals, for the benchmarks' JSON lines. */
export const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Renders rows as a Markdown table with right-aligned columns (readable in a terminal too). */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((v, c) => v.padStart(widths[c]!)).join(' | ')} |`;
  return [line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 1) + ':').join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}
