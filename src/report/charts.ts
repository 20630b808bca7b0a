// The report's charts as Vega-Lite specifications with their data inline, and their rendering to
// SVG in Node (vega's headless SVG renderer, no browser, no canvas) and to PNG (sharp). Building a
// spec and rendering it are separate, so tests can check what a chart shows without drawing it.
//
// Charts: convergence curves with a band of one standard deviation over seeds, final-metric
// distributions per strategy, the final metric against LOW's lambda, the mean weight per class
// per epoch, and galleries of training samples (image grids with label, prediction and weight).
import sharp from 'sharp';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { CurvePoint, FinalValue, LambdaPoint } from '../analysis/curves.js';
import type { ClassWeightPoint } from '../analysis/class-weights.js';
import { meanIgnoringNaN } from '../metrics/stats.js';

/** A Vega-Lite spec whose top-level data is inline (the rest is Vega-Lite's, unchecked here). */
export interface VlSpec<T = Record<string, unknown>> {
  data: { values: T[] };
  [key: string]: unknown;
}

const FRACTION_METRIC = /(^|_)(err|acc|bacc|mauc|mf1)$/;

/** Readable names of metrics.csv columns. */
export const METRIC_TITLES: Record<string, string> = {
  lr: 'learning rate',
  train_loss: 'train loss (weighted, as optimised)',
  train_loss_plain: 'train loss (plain mean)',
  train_err: 'train error (batches as seen)',
  weight_std: 'std of the sample weights',
  test_loss: 'test loss',
  test_err: 'test error',
  test_acc: 'test accuracy',
  test_bacc: 'test balanced accuracy',
  test_mauc: 'test mean AUC',
  test_mf1: 'test mean F1',
  val_loss: 'validation loss',
  val_err: 'validation error',
  val_acc: 'validation accuracy',
  val_bacc: 'validation balanced accuracy',
  val_mauc: 'validation mean AUC',
  val_mf1: 'validation mean F1',
  seconds: 'seconds per epoch',
};

export const metricTitle = (metric: string): string => METRIC_TITLES[metric] ?? metric;
/** Metrics where less is better: a chart that ranks strategies puts the lowest first. */
const LOWER_IS_BETTER = /(^|_)(err|loss)/;
const axisFormat = (metric: string) => (FRACTION_METRIC.test(metric) ? { format: '.1%' } : {});

const CONFIG = {
  background: 'white',
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  // Tuned strategies have long names ("low:base=logit-adjust,norms=ce,lambda=1 @ lr=0.01"): room to read them whole.
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 420 },
  title: { fontSize: 14, anchor: 'start' },
};

/** Strategies in first-seen order: the colour domain shared by all charts of a report. */
function domainOf(values: { strategy: string }[], given?: string[]): string[] {
  return given ?? [...new Set(values.map((v) => v.strategy))];
}

const strategyColor = (domain: string[]) => ({
  field: 'strategy',
  type: 'nominal',
  title: 'strategy',
  scale: { domain, scheme: domain.length > 10 ? 'category20' : 'tableau10' },
});

/** Epochs 1..E on x, with integer ticks. */
function epochAxis(epochs: number) {
  const e = Math.max(1, epochs);
  const step = Math.max(1, Math.ceil(e / 12));
  const ticks = Array.from({ length: Math.floor((e - 1) / step) + 1 }, (_, i) => 1 + i * step);
  return {
    field: 'epoch',
    type: 'quantitative',
    title: 'epoch',
    axis: { values: ticks, format: 'd' },
    scale: { domain: [1, Math.max(2, e)], nice: false },
  };
}

export interface CurveChartOptions {
  metric: string;
  title?: string;
  /** Colour domain, to keep one colour per strategy across charts. */
  strategies?: string[];
  width?: number;
  height?: number;
}

/** Mean over seeds per strategy and epoch (line) with mean ± one standard deviation (band). */
export function convergenceSpec(points: CurvePoint[], o: CurveChartOptions): VlSpec<CurvePoint> {
  const domain = domainOf(points, o.strategies);
  const epochs = Math.max(0, ...points.map((p) => p.epoch));
  const y = { type: 'quantitative', title: metricTitle(o.metric), scale: { zero: false }, axis: axisFormat(o.metric) };
  return {
    title: o.title ?? metricTitle(o.metric),
    width: o.width ?? 380,
    height: o.height ?? 260,
    config: CONFIG,
    data: { values: points },
    encoding: {
      x: epochAxis(epochs),
      color: { ...strategyColor(domain), legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 } },
    },
    layer: [
      { mark: { type: 'area', opacity: 0.18 }, encoding: { y: { field: 'lower', ...y }, y2: { field: 'upper' } } },
      {
        mark: { type: 'line', strokeWidth: 2, point: epochs <= 30 ? { size: 25 } : false },
        encoding: {
          y: { field: 'mean', ...y },
          tooltip: [
            { field: 'strategy' },
            { field: 'epoch' },
            { field: 'mean', format: '.4f' },
            { field: 'std', format: '.4f' },
            { field: 'n', title: 'seeds' },
          ],
        },
      },
    ],
  };
}

const LINE_BREAK = '|';
/**
 * A strategy's name as a panel title, in lines that fit above a panel: tuned names are long
 * ("low:base=logit-adjust,norms=ce,lambda=1 @ lr=0.01"), so the learning rate goes on a line of
 * its own and the setting breaks after a comma. Lines are joined by LINE_BREAK (no spec has one).
 */
export function panelTitle(strategy: string, width = 30): string {
  const [setting = '', ...rest] = strategy.split(' @ ');
  const lines: string[] = [];
  for (const part of setting.split(/(?<=,)/)) {
    const current = lines[lines.length - 1];
    if (current !== undefined && current.length + part.length <= width) lines[lines.length - 1] = current + part;
    else lines.push(part);
  }
  return [...lines, ...rest].join(LINE_BREAK);
}

/** A convergence point drawn in one strategy's panel: its own, or the reference strategy's. */
export type PanelPoint = CurvePoint & { panel: string; reference: boolean };

/**
 * The convergence curves as small multiples, for an experiment with more strategies than one chart
 * keeps apart (the long-tail study has 18): one panel per strategy in its report colour, over the
 * reference strategy (Normal) in grey, with the same axes in every panel.
 */
export function convergencePanelsSpec(
  points: CurvePoint[],
  o: CurveChartOptions & { reference: string; columns?: number },
): VlSpec<PanelPoint> {
  const domain = domainOf(points, o.strategies);
  const panels = domain.filter((s) => s !== o.reference && points.some((p) => p.strategy === s));
  const reference = points.filter((p) => p.strategy === o.reference);
  const titles = panels.map((s) => panelTitle(s));
  const values: PanelPoint[] = [];
  panels.forEach((strategy, k) => {
    const panel = titles[k]!;
    for (const p of reference) values.push({ ...p, panel, reference: true });
    for (const p of points) if (p.strategy === strategy) values.push({ ...p, panel, reference: false });
  });
  const x = epochAxis(Math.max(0, ...points.map((p) => p.epoch)));
  const y = { type: 'quantitative', title: metricTitle(o.metric), scale: { zero: false }, axis: axisFormat(o.metric) };
  const color = { ...strategyColor(domain), legend: null };
  const only = (ref: boolean) => [{ filter: ref ? 'datum.reference' : '!datum.reference' }];
  return {
    title: o.title ?? `${metricTitle(o.metric)}: each strategy (colour) against ${o.reference} (grey)`,
    config: CONFIG,
    data: { values },
    columns: o.columns ?? 4,
    facet: {
      field: 'panel',
      type: 'nominal',
      title: null,
      sort: titles,
      header: { labelFontSize: 10, labelExpr: `split(datum.label, '${LINE_BREAK}')` },
    },
    spec: {
      width: o.width ?? 220,
      height: o.height ?? 120,
      layer: [
        {
          transform: only(true),
          mark: { type: 'area', opacity: 0.15, color: '#999' },
          encoding: { x, y: { field: 'lower', ...y }, y2: { field: 'upper' } },
        },
        { transform: only(true), mark: { type: 'line', strokeWidth: 1.5, color: '#888' }, encoding: { x, y: { field: 'mean', ...y } } },
        {
          transform: only(false),
          mark: { type: 'area', opacity: 0.2 },
          encoding: { x, y: { field: 'lower', ...y }, y2: { field: 'upper' }, color },
        },
        {
          transform: only(false),
          mark: { type: 'line', strokeWidth: 2 },
          encoding: {
            x,
            y: { field: 'mean', ...y },
            color,
            tooltip: [{ field: 'strategy' }, { field: 'epoch' }, { field: 'mean', format: '.4f' }, { field: 'std', format: '.4f' }],
          },
        },
      ],
    },
  };
}

/**
 * Final-epoch value of every run, per strategy: points (one per seed), a mean tick, and a box plot
 * with 4 or more seeds. Strategies are ranked by their mean, best on top (lowest first for an
 * error or a loss), so that a comparison of many reads as a ranking; colours stay those of the
 * report's other charts.
 */
export function finalMetricSpec(values: FinalValue[], o: CurveChartOptions): VlSpec<FinalValue> {
  const domain = domainOf(values, o.strategies).filter((s) => values.some((v) => v.strategy === s));
  const counts = domain.map((s) => values.filter((v) => v.strategy === s).length);
  const meanOf = (s: string) => meanIgnoringNaN(values.filter((v) => v.strategy === s).map((v) => v.value));
  const better = LOWER_IS_BETTER.test(o.metric) ? 1 : -1;
  // NaN (every seed diverged) last; ties keep the report's order (sort is stable).
  const ranked = [...domain].sort((a, b) => {
    const [x, y] = [meanOf(a), meanOf(b)];
    if (Number.isNaN(x) || Number.isNaN(y)) return Number(Number.isNaN(x)) - Number(Number.isNaN(y));
    return better * (x - y);
  });
  const x = { field: 'value', type: 'quantitative', title: metricTitle(o.metric), scale: { zero: false }, axis: axisFormat(o.metric) };
  const y = { field: 'strategy', type: 'nominal', title: null, sort: ranked, axis: { labelLimit: 420 } };
  const layer: unknown[] = [];
  if (counts.length && Math.min(...counts) >= 4) {
    layer.push({
      mark: { type: 'boxplot', extent: 'min-max', opacity: 0.25, size: 14 },
      encoding: { x, y, color: { ...strategyColor(domain), legend: null } },
    });
  }
  layer.push(
    {
      mark: { type: 'point', filled: true, size: 70, opacity: 0.85 },
      encoding: {
        x,
        y,
        color: { ...strategyColor(domain), legend: null },
        tooltip: [{ field: 'strategy' }, { field: 'seed' }, { field: 'value', format: '.4f' }, { field: 'epochs' }],
      },
    },
    { mark: { type: 'tick', color: 'black', thickness: 2, size: 18 }, encoding: { x: { ...x, aggregate: 'mean' }, y } },
  );
  return {
    title: o.title ?? `${metricTitle(o.metric)}, final epoch`,
    width: o.width ?? 380,
    height: { step: 26 },
    config: CONFIG,
    data: { values },
    layer,
  };
}

export interface BaselineLine {
  strategy: string;
  mean: number;
}

/**
 * Final metric against LOW's lambda (log scale), one line per LOW family (e.g. gradient scaling), error bars ± 1 std;
 * baselines as dashed lines.
 */
export function lambdaSpec(
  points: LambdaPoint[],
  baselines: BaselineLine[],
  o: CurveChartOptions & { yTitle?: string | string[] },
): VlSpec<LambdaPoint> {
  const y = { type: 'quantitative', title: o.yTitle ?? metricTitle(o.metric), scale: { zero: false }, axis: axisFormat(o.metric) };
  const x = {
    field: 'lambda',
    type: 'quantitative',
    title: 'lambda (log scale)',
    scale: { type: 'log' },
    axis: { values: [...new Set(points.map((p) => p.lambda))] },
  };
  const color = { field: 'family', type: 'nominal', title: 'LOW family' };
  const layer: unknown[] = [
    { mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, y: { field: 'lower', ...y }, y2: { field: 'upper' }, color } },
    {
      mark: { type: 'line', point: { size: 60, filled: true }, strokeWidth: 2 },
      encoding: {
        x,
        y: { field: 'mean', ...y },
        color,
        tooltip: [
          { field: 'family' },
          { field: 'lambda' },
          { field: 'mean', format: '.4f' },
          { field: 'std', format: '.4f' },
          { field: 'n', title: 'seeds' },
        ],
      },
    },
  ];
  if (baselines.length) {
    layer.push(
      {
        data: { values: baselines },
        mark: { type: 'rule', strokeDash: [5, 4], color: '#888' },
        encoding: { y: { field: 'mean', ...y }, tooltip: [{ field: 'strategy' }, { field: 'mean', format: '.4f' }] },
      },
      {
        data: { values: baselineLabels(points, baselines) },
        mark: { type: 'text', align: 'left', dx: 4, dy: -6, fontSize: 10, color: '#555' },
        encoding: {
          y: { field: 'mean', ...y },
          x: { datum: Math.min(...points.map((p) => p.lambda)), type: 'quantitative', scale: { type: 'log' } },
          text: { field: 'strategy' },
        },
      },
    );
  }
  return {
    title: o.title ?? `${metricTitle(o.metric)} against lambda`,
    width: o.width ?? 380,
    height: o.height ?? 260,
    config: CONFIG,
    data: { values: points },
    layer,
  };
}

/**
 * One label per group of baselines lying within 4 % of the chart's height of each other ("is,
 * normal, spl"), placed above the group's highest line: separate labels there would print on top
 * of each other.
 */
export function baselineLabels(points: LambdaPoint[], baselines: BaselineLine[]): BaselineLine[] {
  const ys = [...points.flatMap((p) => [p.lower ?? p.mean, p.upper ?? p.mean, p.mean]), ...baselines.map((b) => b.mean)].filter(
    Number.isFinite,
  );
  const near = 0.04 * (Math.max(...ys) - Math.min(...ys));
  const labels: { strategies: string[]; top: number }[] = [];
  for (const b of [...baselines].sort((a, c) => a.mean - c.mean)) {
    const last = labels.at(-1);
    if (last && b.mean - last.top <= near) {
      last.strategies.push(b.strategy);
      last.top = b.mean;
    } else {
      labels.push({ strategies: [b.strategy], top: b.mean });
    }
  }
  return labels.map((l) => ({ strategy: l.strategies.join(', '), mean: l.top }));
}

export interface ClassWeightChartOptions {
  title?: string;
  /** Training samples per class, shown in the legend. */
  classCounts?: number[];
  width?: number;
  height?: number;
}

/** Mean weight per class per epoch: one line per class, with the reference weight 1 dashed. */
export function classWeightSpec(
  points: ClassWeightPoint[],
  o: ClassWeightChartOptions = {},
): VlSpec<ClassWeightPoint & { series: string }> {
  const series = (p: ClassWeightPoint) => (o.classCounts ? `${p.className} (n=${o.classCounts[p.classIndex]})` : p.className);
  const values = points.map((p) => ({ ...p, series: series(p) }));
  const domain = [...new Map(values.map((v) => [v.classIndex, v.series])).entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  const epochs = Math.max(0, ...points.map((p) => p.epoch));
  return {
    title: o.title ?? 'Mean weight per class',
    width: o.width ?? 380,
    height: o.height ?? 260,
    config: CONFIG,
    data: { values },
    layer: [
      {
        data: { values: [{ one: 1 }] },
        mark: { type: 'rule', strokeDash: [4, 4], color: '#999' },
        encoding: { y: { field: 'one', type: 'quantitative' } },
      },
      {
        mark: { type: 'line', strokeWidth: 2, point: epochs <= 30 ? { size: 20 } : false },
        encoding: {
          x: epochAxis(epochs),
          y: { field: 'meanWeight', type: 'quantitative', title: 'mean weight', scale: { zero: false } },
          color: {
            field: 'series',
            type: 'nominal',
            title: 'class',
            scale: { domain, scheme: domain.length > 10 ? 'category20' : 'tableau10' },
          },
          tooltip: [
            { field: 'className', title: 'class' },
            { field: 'epoch' },
            { field: 'meanWeight', format: '.4f', title: 'mean weight' },
          ],
        },
      },
    ],
  };
}

export interface GalleryItem {
  position: number;
  id: number;
  /** Class name of the label as trained. */
  label: string;
  /** Predicted class name; null when only "wrong" is known (margin <= 0 without the model). */
  predicted: string | null;
  /** Whether the prediction equals the label. */
  correct: boolean;
  meanWeight: number;
  /** The image as a data URI (PNG). */
  image: string;
  /** Injected noise: whether this label was flipped, and the clean label (null without noise). */
  noisy: boolean | null;
  cleanLabel: string | null;
}

export interface GalleryOptions {
  title: string;
  columns?: number;
  /** Displayed image size in pixels. */
  imageSize?: number;
  /** Value shown on the third line; default the mean weight, "w". */
  valueLabel?: string;
  values?: number[];
}

export interface GalleryCell extends GalleryItem {
  col: number;
  row: number;
  /** Pixel position of the cell: horizontal centre and top. */
  cx: number;
  top: number;
  line1: string;
  line2: string;
  line3: string;
  line4: string;
}

/**
 * A grid of training samples: the image, then the label as trained (bold), the prediction (red
 * when it differs from the label), the mean weight (or another value) and the id; with injected
 * noise a red frame and the clean label mark the flipped samples. Cells are laid out in pixels.
 */
export function gallerySpec(items: GalleryItem[], o: GalleryOptions): VlSpec<GalleryCell> {
  const columns = Math.max(1, Math.min(o.columns ?? 8, items.length || 1));
  const size = o.imageSize ?? 56;
  const hasNoise = items.some((i) => i.noisy !== null);
  const cellW = Math.max(size + 16, 128);
  const cellH = size + (hasNoise ? 62 : 50);
  const rows = Math.max(1, Math.ceil(items.length / columns));
  const values: GalleryCell[] = items.map((it, k) => ({
    ...it,
    col: k % columns,
    row: Math.floor(k / columns),
    cx: (k % columns) * cellW + cellW / 2,
    top: Math.floor(k / columns) * cellH + 4,
    line1: it.label,
    line2: `pred: ${it.predicted ?? '≠ label'}`,
    line3: `${o.valueLabel ?? 'w'} ${fmtValue(o.values ? o.values[k]! : it.meanWeight)}  #${it.id}`,
    line4: it.noisy ? `clean: ${it.cleanLabel}` : '',
  }));
  const x = { field: 'cx', type: 'quantitative', scale: null, axis: null };
  const y = { field: 'top', type: 'quantitative', scale: null, axis: null };
  // No text limit: vega measures text without a font in Node and would cut labels that fit.
  const text = (field: string, dy: number, extra: Record<string, unknown> = {}) => ({
    mark: { type: 'text', baseline: 'top', align: 'center', fontSize: 10, dy, ...extra },
    encoding: { x, y, text: { field } },
  });
  const layer: unknown[] = [
    {
      mark: { type: 'image', width: size, height: size, align: 'center', baseline: 'top', aria: false },
      encoding: { x, y, url: { field: 'image', type: 'nominal' } },
    },
    text('line1', size + 5, { fontWeight: 'bold' }),
    {
      ...text('line2', size + 17),
      encoding: { x, y, text: { field: 'line2' }, color: { condition: { test: '!datum.correct', value: '#c62828' }, value: '#222' } },
    },
    text('line3', size + 29, { color: '#444' }),
  ];
  if (hasNoise) {
    layer.push(
      {
        mark: { type: 'square', size: (size + 4) ** 2, filled: false, stroke: '#d32f2f', strokeWidth: 2.5, yOffset: size / 2 },
        encoding: { x, y, opacity: { condition: { test: 'datum.noisy', value: 1 }, value: 0 } },
      },
      text('line4', size + 41, { color: '#d32f2f' }),
    );
  }
  return {
    title: o.title,
    width: columns * cellW,
    height: rows * cellH,
    config: { ...CONFIG, view: { stroke: null } },
    data: { values },
    layer,
  };
}

function fmtValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 0.01 || a >= 1e4) ? v.toExponential(1) : v.toFixed(a >= 100 ? 1 : 3);
}

/** Renders a Vega-Lite spec to an SVG document (standalone: with its XML namespaces). */
export async function renderSvg(spec: VlSpec<unknown>): Promise<string> {
  const compiled = vl.compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** An SVG document as PNG (sharp, through librsvg); scale 2 gives a sharp picture on high-DPI screens. */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 * scale })
    .png()
    .toBuffer();
}

/**
 * An SVG document made fit for inlining in HTML: the namespace declarations go (the HTML parser
 * puts <svg> in the SVG namespace and knows xlink:href by itself), and it scales down to narrow
 * screens.
 */
export function inlineSvg(svg: string): string {
  return svg.replace(/\s+xmlns(:xlink)?="[^"]*"/g, '').replace(/^<svg /, '<svg style="max-width:100%;height:auto" ');
}

/**
 * A sample's image (uint8, channel-first C x H x W, 1 or 3 channels) as a PNG data URI, scaled to
 * fit `size` x `size` (nearest neighbour when enlarging, so pixels stay crisp).
 */
export async function imageDataUri(pixels: Uint8Array, shape: readonly [number, number, number], size = 56): Promise<string> {
  const [c, h, w] = shape;
  if (pixels.length !== c * h * w) throw new RangeError(`imageDataUri: ${pixels.length} bytes for shape ${c}x${h}x${w}`);
  if (c !== 1 && c !== 3) throw new RangeError(`imageDataUri: ${c} channels (expected 1 or 3)`);
  const hwc = Buffer.alloc(c * h * w);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) hwc[i * c + ch] = pixels[ch * h * w + i]!;
  const enlarge = size >= Math.max(h, w);
  const png = await sharp(hwc, { raw: { width: w, height: h, channels: c } })
    .resize({ width: size, height: size, fit: 'inside', kernel: enlarge ? 'nearest' : 'lanczos3' })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}
