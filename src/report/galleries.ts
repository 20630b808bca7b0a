// The image galleries of a report: the lowest- and highest-weighted training samples of a run,
// overall and per class, each image with its label, the final model's prediction and its weight
// (or another per-sample score, on the page of `low suspects`); and how well each per-sample score
// finds injected label noise.
import { join } from 'node:path';
import type { RunFolder } from '../analysis/run-folder.js';
import { weightExtremes, type WeightedSample } from '../analysis/extremes.js';
import { detectionQuality } from '../analysis/detection.js';
import { SCORES } from '../analysis/scores.js';
import { loadTrainingImages, predictions, type TrainingImages, type Predictions } from '../analysis/sample-images.js';
import { gallerySpec, imageDataUri, type GalleryItem } from './charts.js';
import { escapeHtml, num, table, type Charts, type ReportOptions } from './page.js';

export interface GalleryList {
  name: string;
  title: string;
  samples: WeightedSample[];
  /** Shown instead of the mean weight (e.g. a suspicion score). */
  values?: number[];
  valueLabel?: string;
}

interface GallerySource {
  run: RunFolder;
  images: TrainingImages;
  predictions: Map<number, number | null>;
  source: Predictions['source'];
}

export async function gallerySource(run: RunFolder, positions: number[], notes: string[]): Promise<GallerySource | null> {
  let images: TrainingImages;
  try {
    images = await loadTrainingImages(run);
  } catch (e) {
    notes.push(
      `Galleries left out: the training images could not be rebuilt from ${join(run.dir, 'config.json')} (${(e as Error).message}).`,
    );
    return null;
  }
  const unique = [...new Set(positions)];
  const p = await predictions(run, images, unique);
  if (p.fallbackReason) notes.push(`Predictions in the galleries come from the margins, not the model: ${p.fallbackReason}`);
  return { run, images, predictions: new Map(unique.map((pos, i) => [pos, p.predicted[i] ?? null])), source: p.source };
}

const predictionCaption = (source: Predictions['source']) =>
  source === 'model'
    ? "pred = the final model's prediction (checkpoint after the last epoch, eval mode)"
    : "pred = from the sign of the last epoch's mean margin (the model could not be loaded): " +
      'the label when the margin is positive, "≠ label" otherwise';

async function galleryItems(src: GallerySource, samples: WeightedSample[]): Promise<GalleryItem[]> {
  const names = src.run.samples!.classNames;
  const shape = src.images.dataset.shape;
  const size = Math.max(shape[1], shape[2]) <= 32 ? 56 : 72;
  return Promise.all(
    samples.map(async (s) => {
      const predicted = src.predictions.get(s.position) ?? null;
      return {
        position: s.position,
        id: s.id,
        label: names[s.label] ?? String(s.label),
        predicted: predicted === null ? null : (names[predicted] ?? String(predicted)),
        correct: predicted === s.label,
        meanWeight: s.meanWeight,
        image: await imageDataUri(src.images.imageAt(s.position), shape, size),
        noisy: s.noisy,
        cleanLabel: s.cleanLabel === null ? null : (names[s.cleanLabel] ?? String(s.cleanLabel)),
      };
    }),
  );
}

export async function galleryFigures(charts: Charts, src: GallerySource, lists: GalleryList[], columns: number): Promise<string[]> {
  const out: string[] = [];
  for (const list of lists) {
    if (!list.samples.length) continue;
    const items = await galleryItems(src, list.samples);
    out.push(
      await charts.figure(
        list.name,
        gallerySpec(items, { title: list.title, columns, values: list.values, valueLabel: list.valueLabel }),
        '',
        true,
      ),
    );
  }
  return out;
}

export const GALLERY_LEGEND = (
  source: Predictions['source'],
  hasNoise: boolean,
  valueText = "w = the sample's weight averaged over the epochs",
) =>
  '<p class="muted">Under each image: the label as trained (bold); ' +
  `${escapeHtml(predictionCaption(source))}, in red when it differs from the label; ` +
  `${escapeHtml(valueText)}; #id = its index in the dataset's original file order.` +
  (hasNoise ? ' A red frame marks a label flipped by the injected noise, with its clean label below.' : '') +
  '</p>';

/** Overall and per-class galleries of the lowest- and highest-weighted samples of one run. */
export async function weightGalleries(charts: Charts, run: RunFolder, o: ReportOptions, notes: string[], heading = ''): Promise<string> {
  if (!run.history || !run.samples || run.history.epochs === 0) {
    notes.push(`Galleries left out: ${run.dir} has no per-sample history (checkpoint.lowt) or samples.lowt.`);
    return '';
  }
  const first = run.history.weight.find((w) => !Number.isNaN(w));
  if (run.history.weight.every((w) => Number.isNaN(w) || w === first)) {
    notes.push(
      `Galleries left out: every sample of ${run.config.strategy} has the same weight (${first}), ` +
        `so there are no lowest or highest weights; \`low suspects ${run.dir}\` ranks its samples by loss and margin.`,
    );
    return '';
  }
  const top = o.top ?? 24;
  const perClass = o.perClass ?? 8;
  const ex = weightExtremes(run.history, run.samples, Math.max(top, perClass));
  const overallLow = ex.lowest.slice(0, top);
  const overallHigh = ex.highest.slice(0, top);
  const positions = [
    ...overallLow,
    ...overallHigh,
    ...ex.perClass.flatMap((c) => [...c.lowest.slice(0, perClass), ...c.highest.slice(0, perClass)]),
  ].map((s) => s.position);
  if (o.images === false) return '<p class="muted">Galleries skipped (--no-images).</p>';
  const src = await gallerySource(run, positions, notes);
  if (!src) return '';
  const hasNoise = run.samples.isNoisy !== null;
  const parts: string[] = [heading, GALLERY_LEGEND(src.source, hasNoise), '<div class="charts">'];
  parts.push(
    ...(await galleryFigures(
      charts,
      src,
      [
        {
          name: 'gallery-lowest',
          title: `The ${overallLow.length} lowest-weighted training samples (mean weight over ${ex.epochs} epochs)`,
          samples: overallLow,
        },
        {
          name: 'gallery-highest',
          title: `The ${overallHigh.length} highest-weighted training samples (mean weight over ${ex.epochs} epochs)`,
          samples: overallHigh,
        },
      ],
      8,
    )),
  );
  parts.push('</div>', '<h3>Per class</h3>');
  for (const c of ex.perClass) {
    const figs = await galleryFigures(
      charts,
      src,
      [
        { name: `gallery-class-${c.classIndex}-lowest`, title: `${c.className}: lowest weights`, samples: c.lowest.slice(0, perClass) },
        { name: `gallery-class-${c.classIndex}-highest`, title: `${c.className}: highest weights`, samples: c.highest.slice(0, perClass) },
      ],
      perClass,
    );
    parts.push(
      `<details${c.classIndex < 2 ? ' open' : ''}><summary>${escapeHtml(c.className)} ` +
        `(${run.samples.trainCounts[c.classIndex] ?? '?'} training samples)</summary>` +
        `<div class="charts">${figs.join('\n')}</div></details>`,
    );
  }
  return parts.join('\n');
}

export function detectionTable(run: RunFolder): string {
  if (!run.history || !run.samples?.isNoisy || run.history.epochs === 0) return '';
  const results = detectionQuality(run.history, run.samples.isNoisy);
  const k = results[0]?.k ?? 0;
  return (
    `<p>${k} of ${run.samples.labels.length} training labels were flipped by the injected noise. ` +
    'How well each per-sample score finds them ' +
    `(ROC AUC: 0.5 = chance, 1 = perfect; precision among the ${k} most suspicious samples):</p>` +
    table(
      ['score', 'suspicious when', 'ROC AUC', `precision@${k}`],
      results.map((r) => [
        `${r.score}: ${SCORES[r.score].description}${r.constant ? ' (constant for this run)' : ''}`,
        SCORES[r.score].suspicious,
        num(r.auc, 3),
        num(r.precisionAtK, 3),
      ]),
      { numericFrom: 2 },
    )
  );
}
