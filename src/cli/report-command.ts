// `low report`: one self-contained HTML file (inline SVG charts, embedded images, no network)
// for a run folder or an experiment folder, optionally with every chart as PNG.
import { join } from 'node:path';
import { Command } from 'commander';
import { positiveInt } from './options.js';

export function reportCommand(): Command {
  return new Command('report')
    .description(
      'Write an HTML report of a run folder or an experiment folder: configuration, summary table or final metrics, ' +
        'convergence curves (mean ± 1 std over seeds), ' +
        'final-metric distributions, test error against lambda, mean weight per class per epoch, ' +
        'and galleries of the lowest- and highest-weighted training samples. ' +
        'The file is self-contained (no network needed to view it).',
    )
    .argument('<folder>', 'a run folder (low train --out) or an experiment folder (low compare --out)')
    .option('--out <file>', 'the HTML file to write (default <folder>/report.html)')
    .option('--png <dir>', 'also write every chart as a PNG file into this folder')
    .option('--top <n>', 'samples in the overall galleries', positiveInt('--top'), 24)
    .option('--per-class <n>', 'samples per class in the per-class galleries', positiveInt('--per-class'), 8)
    .option(
      '--gallery-strategy <spec>',
      'experiments: the strategy whose first seed the galleries show (default: the LOW setting the summary selects)',
    )
    .option('--no-images', 'leave out the galleries (no need for the dataset files)')
    .action(
      async (
        folder: string,
        o: { out?: string; png?: string; top: number; perClass: number; galleryStrategy?: string; images: boolean },
      ) => {
        const { writeReport } = await import('../report/html.js');
        const out = o.out ?? join(folder, 'report.html');
        const started = performance.now();
        const r = await writeReport(folder, out, {
          pngDir: o.png,
          top: o.top,
          perClass: o.perClass,
          galleryStrategy: o.galleryStrategy,
          images: o.images,
        });
        for (const n of r.notes) console.error(`note: ${n}`);
        console.log(
          `${r.kind} report: ${out} (${r.charts.length} charts, ${(r.html.length / 1024).toFixed(0)} KiB, ` +
            `${((performance.now() - started) / 1000).toFixed(1)} s)`,
        );
        if (r.pngs.length) console.log(`${r.pngs.length} PNG files in ${o.png}`);
      },
    );
}
