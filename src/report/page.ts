// The building blocks of low-ts's HTML pages (the report of a run or an experiment, the page of
// `low suspects`): what a built page is, its skeleton and style, tables, and the chart and section
// collectors that every page fills. One self-contained file: inline CSS, inline SVG charts, sample
// images as data URIs; no script, no external URL.
import { inlineSvg, renderSvg, type VlSpec } from './charts.js';

export interface ReportOptions {
  /** Samples in each overall gallery (lowest and highest weighted); default 24. */
  top?: number;
  /** Samples per class in the per-class galleries; default 8. */
  perClass?: number;
  /** Also write every chart as PNG into this folder. */
  pngDir?: string;
  /** Rebuild the training images for the galleries (needs the dataset's files); default true. */
  images?: boolean;
  /** Experiments: the strategy whose first finished seed the galleries come from; default the LOW setting chosen by the summary. */
  galleryStrategy?: string;
}

export interface ReportChart {
  name: string;
  title: string;
  spec: VlSpec<unknown>;
  /** Standalone SVG document. */
  svg: string;
}

export interface Report {
  kind: 'run' | 'experiment' | 'suspects';
  title: string;
  html: string;
  charts: ReportChart[];
  /** Things the report could not show, and why. */
  notes: string[];
}

export const escapeHtml = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function table(headers: string[], rows: unknown[][], o: { numericFrom?: number; className?: string } = {}): string {
  const from = o.numericFrom ?? 1;
  const th = headers.map((h, i) => `<th${i >= from ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${i >= from ? ' class="num"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table${o.className ? ` class="${o.className}"` : ''}><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

export const pct = (v: number | undefined, digits = 2) => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${(100 * v).toFixed(digits)}`);
export const num = (v: number | undefined, digits = 4) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

export const CSS = `
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #dadce0; --bg: #fff; --accent: #1a56a8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1360px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.55em; margin: 0.4em 0 0.2em; }
h2 { font-size: 1.25em; margin: 1.6em 0 0.5em; padding-bottom: 0.2em; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
p, li { max-width: 80em; }
.muted { color: var(--muted); }
nav { font-size: 0.92em; margin: 0.6em 0 1em; display: flex; flex-wrap: wrap; gap: 4px 18px; }
nav a { color: var(--accent); text-decoration: none; white-space: nowrap; }
dl.config { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 2px 24px;
  font-size: 0.9em; margin: 0.4em 0 1em; }
dl.config div { display: flex; gap: 8px; border-bottom: 1px solid #eee; padding: 2px 0; }
dl.config dt { color: var(--muted); min-width: 8.5em; }
dl.config dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 0.9em; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 10px; text-align: left; vertical-align: top; }
th { background: #f4f5f7; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafbfc; }
table.config td:first-child { color: var(--muted); }
.charts { display: flex; flex-wrap: wrap; gap: 18px 28px; align-items: flex-start; }
figure { margin: 0; max-width: 100%; }
figure.wide { flex-basis: 100%; }
figcaption { font-size: 0.85em; color: var(--muted); max-width: 620px; margin-top: 2px; }
figure svg { display: block; max-width: 100%; height: auto; }
figure svg image { image-rendering: pixelated; }
details { margin: 0.5em 0; }
summary { cursor: pointer; font-weight: 600; }
.note { background: #fff8e1; border-left: 4px solid #f9a825; padding: 6px 12px; margin: 0.6em 0; font-size: 0.92em; }
code { font-family: "DejaVu Sans Mono", Menlo, monospace; font-size: 0.92em; }
`;

export function page(title: string, nav: { id: string; title: string }[], body: string): string {
  const generatedAt = new Date().toISOString().replace('T', ' ').slice(0, 16);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="muted">Generated by low-ts on ${escapeHtml(generatedAt)} UTC. Self-contained: charts are inline SVG, images are embedded.</p>
<nav>${nav.map((n) => `<a href="#${n.id}">${escapeHtml(n.title)}</a>`).join('')}</nav>
${body}
</main>
</body>
</html>
`;
}

/** Renders specs and keeps them, for the page and for --png. */
export class Charts {
  readonly list: ReportChart[] = [];
  async figure(name: string, spec: VlSpec<unknown>, caption = '', wide = false): Promise<string> {
    const svg = await renderSvg(spec);
    const title = typeof spec.title === 'string' ? spec.title : name;
    this.list.push({ name: slug(name), title, spec, svg });
    return (
      `<figure${wide ? ' class="wide"' : ''} id="chart-${escapeHtml(slug(name))}">${inlineSvg(svg)}` +
      `${caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : ''}</figure>`
    );
  }
}

export class Sections {
  readonly nav: { id: string; title: string }[] = [];
  readonly parts: string[] = [];
  add(id: string, title: string, html: string): void {
    this.nav.push({ id, title });
    this.parts.push(`<section id="${id}"><h2>${escapeHtml(title)}</h2>\n${html}\n</section>`);
  }
  get html(): string {
    return this.parts.join('\n');
  }
}

/** Key-value pairs of a config, in a compact multi-column list. */
export function configTable(config: object, leaveOut: string[] = []): string {
  const items = Object.entries(config)
    .filter(([k]) => !leaveOut.includes(k))
    .map(
      ([k, v]) =>
        `<div><dt>${escapeHtml(k)}</dt>` +
        `<dd>${escapeHtml(v === null ? 'none' : typeof v === 'object' ? JSON.stringify(v) : String(v))}</dd></div>`,
    );
  return `<dl class="config">${items.join('')}</dl>`;
}

export const noteHtml = (notes: string[]) => notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n');
