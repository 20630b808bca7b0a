// `low suspects`: ranks a run's training samples by per-sample scores built from its history
// (LOW's weights, the loss, the area under the margin) and prints the most suspicious ones; with
// injected noise, also how well each score finds the flipped labels.
import { Command, InvalidArgumentError } from 'commander';
import { positiveInt } from './options.js';
import { SCORE_NAMES, isScoreName, type ScoreName } from '../analysis/scores.js';
import { checkOutputFile, writeOutputFile } from '../io/output-path.js';

interface SuspectsOptions {
  top: number;
  score?: ScoreName;
  out?: string;
  json?: boolean;
  images: boolean;
}

export function suspectsCommand(): Command {
  return new Command('suspects')
    .description(
      'Rank the training samples of a run by how suspicious they look (possible label errors) ' +
        'according to each score, and print the top ones. ' +
        `Scores: ${SCORE_NAMES.join(', ')}. ` +
        "When the run had injected label noise, also print each score's detection ROC AUC and its precision at the true noise count.",
    )
    .argument('<run>', 'a run folder (low train --out, or runs/<strategy>/seed-<n> of an experiment)')
    .option('--top <n>', 'samples to list per score', positiveInt('--top'), 20)
    .option('--score <name>', `only this score (${SCORE_NAMES.join(', ')})`, (v: string) => {
      if (!isScoreName(v)) throw new InvalidArgumentError(`--score must be one of ${SCORE_NAMES.join(', ')}, got '${v}'.`);
      return v;
    })
    .option('--out <file>', 'also write an HTML page with the images of the top samples')
    .option('--json', 'print JSON instead of tables')
    .option('--no-images', 'with --out: leave out the images (no need for the dataset files)')
    .action(async (dir: string, o: SuspectsOptions) => {
      if (o.out !== undefined) checkOutputFile('--out', o.out, { inputs: [dir] });
      const { readRunFolder } = await import('../analysis/run-folder.js');
      const { rankSamples, SCORES } = await import('../analysis/scores.js');
      const { detectionQuality } = await import('../analysis/detection.js');
      const run = readRunFolder(dir);
      if (!run.history || !run.samples)
        throw new Error(
          `${dir}: no per-sample history (checkpoint.lowt) or samples.lowt; is it a run folder with at least one completed epoch?`,
        );
      if (run.history.epochs === 0) throw new Error(`${dir}: no epoch completed yet`);
      const h = run.history;
      const s = run.samples;
      const scores: readonly ScoreName[] = o.score ? [o.score] : SCORE_NAMES;
      const name = (c: number | null) => (c === null ? '' : (s.classNames[c] ?? String(c)));
      const rankings = scores.map((score) => {
        const r = rankSamples(h, score);
        const top = Array.from(r.order.subarray(0, o.top)).map((p, i) => ({
          rank: i + 1,
          position: p,
          id: s.ids[p]!,
          label: name(s.labels[p]!),
          cleanLabel: s.cleanLabels ? name(s.cleanLabels[p]!) : null,
          noisy: s.isNoisy ? s.isNoisy[p] === 1 : null,
          score: r.values[p]!,
        }));
        return { score, description: SCORES[score].description, suspicious: SCORES[score].suspicious, constant: r.constant, top };
      });
      const detection = s.isNoisy ? detectionQuality(h, s.isNoisy, scores) : null;

      if (o.json) {
        console.log(
          JSON.stringify(
            { run: dir, strategy: run.config.strategy, seed: run.config.seed, epochs: h.epochs, samples: h.samples, rankings, detection },
            null,
            2,
          ),
        );
      } else {
        const noise = run.config.noise
          ? `; injected noise ${run.config.noise.kind}:${run.config.noise.rate} (${detection?.[0]?.k ?? 0} flipped labels)`
          : '';
        console.log(
          `${run.config.strategy}, seed ${run.config.seed}, ${run.config.dataset}: ` +
            `${h.samples} training samples, ${h.epochs} epochs of history${noise}`,
        );
        for (const r of rankings) {
          console.log(
            `\n${r.score}: ${r.description}; suspicious when ${r.suspicious}` +
              `${r.constant ? ' (the same for every sample in this run: the ranking means nothing)' : ''}`,
          );
          const header = ['rank', 'id', 'label', ...(s.isNoisy ? ['clean label', 'flipped'] : []), r.score];
          const rows = r.top.map((t) => [
            String(t.rank),
            String(t.id),
            t.label,
            ...(s.isNoisy ? [t.cleanLabel ?? '', t.noisy ? 'yes' : ''] : []),
            fmt(t.score),
          ]);
          printTable(header, rows);
        }
        if (detection) {
          const k = detection[0]?.k ?? 0;
          console.log(
            `\nDetection of the ${k} flipped labels among ${h.samples} samples ` +
              `(ROC AUC: 0.5 = chance; precision among the ${k} most suspicious):`,
          );
          printTable(
            ['score', 'ROC AUC', `precision@${k}`],
            detection.map((d) => [d.score + (d.constant ? ' (constant)' : ''), d.auc.toFixed(3), d.precisionAtK.toFixed(3)]),
          );
        }
      }
      if (o.out) {
        const { buildSuspectsPage } = await import('../report/suspects-page.js');
        const page = await buildSuspectsPage(run, scores, o.top, { images: o.images });
        writeOutputFile('--out', o.out, page.html);
        for (const n of page.notes) console.error(`note: ${n}`);
        console.error(`wrote ${o.out}`);
      }
    });
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4);
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // Numbers right-aligned, text left-aligned.
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((r) => r[i] === '' || Number.isFinite(Number(r[i])) || /^-?(Infinity|NaN)$/.test(r[i]!)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}
