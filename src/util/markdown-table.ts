// Aligned Markdown tables, for the summaries, the benchmarks and the terminal alike.

/** Renders rows as a Markdown table with right-aligned columns (readable in a terminal too). */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((v, c) => v.padStart(widths[c]!)).join(' | ')} |`;
  return [line(cells[0]!), `|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}
