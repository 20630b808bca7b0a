// The page of `low suspects --out`: the images of the samples each per-sample score finds most
// suspicious (likely label errors), and how well the scores find injected noise.
import { resolve } from 'node:path';
import type { RunFolder } from '../analysis/run-folder.js';
import { describeSample } from '../analysis/extremes.js';
import { rankSamples, SCORES, scoreValues, type ScoreName } from '../analysis/scores.js';
import { GALLERY_LEGEND, detectionTable, galleryFigures, gallerySource, type GalleryList } from './galleries.js';
import { Charts, Sections, configTable, escapeHtml, noteHtml, page, type Report } from './page.js';

/** A page with the images of the top suspects of each score (`low suspects --out`). */
export async function buildSuspectsPage(
  run: RunFolder,
  scores: readonly ScoreName[],
  top: number,
  o: { images?: boolean } = {},
): Promise<Report> {
  if (!run.history || !run.samples) throw new Error(`${run.dir}: no per-sample history (checkpoint.lowt) or samples.lowt`);
  const h = run.history;
  const samples = run.samples;
  const notes: string[] = [];
  const charts = new Charts();
  const s = new Sections();
  const meanWeight = scoreValues(h, 'weight-mean');
  const rankings = scores.map((name) => rankSamples(h, name));
  const lists: GalleryList[] = rankings.map((r) => {
    const picked = Array.from(r.order.subarray(0, top));
    return {
      name: `suspects-${r.score}`,
      title: `Top ${picked.length} by ${r.score} (${SCORES[r.score].description}; suspicious when ${SCORES[r.score].suspicious})`,
      samples: picked.map((p) => describeSample(p, samples, meanWeight[p]!)),
      values: picked.map((p) => r.values[p]!),
      valueLabel: r.score,
    };
  });
  const title = `Suspected label errors: ${run.config.strategy}, seed ${run.config.seed}, ${run.config.dataset}`;
  s.add(
    'config',
    'Run',
    `<p>Folder <code>${escapeHtml(resolve(run.dir))}</code>; ${h.epochs} epochs of per-sample history.</p>${configTable(run.config)}`,
  );
  const detection = detectionTable(run);
  if (detection) s.add('noise', 'Detection of the injected noise', detection);
  if (o.images !== false) {
    const src = await gallerySource(
      run,
      lists.flatMap((l) => l.samples.map((x) => x.position)),
      notes,
    );
    if (src) {
      const figs = await galleryFigures(charts, src, lists, 8);
      s.add(
        'suspects',
        'Most suspicious samples per score',
        GALLERY_LEGEND(src.source, samples.isNoisy !== null, "the third line: the score's value") +
          `<div class="charts">${figs.join('\n')}</div>`,
      );
    }
  }
  const html = page(title, s.nav, noteHtml(notes) + s.html);
  return { kind: 'suspects', title, html, charts: charts.list, notes };
}
