// `low report FOLDER`: the HTML report of a run folder or an experiment folder, written as one
// self-contained file, and its charts as PNG files on request.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkOutputFile, checkOutputFolder, writeOutputFile } from '../io/output-path.js';
import { isRunFolder } from '../analysis/run-folder.js';
import { isExperimentFolder } from '../analysis/experiment-folder.js';
import { svgToPng } from './charts.js';
import { buildExperimentReport } from './experiment-report.js';
import { buildRunReport } from './run-report.js';
import type { Report, ReportChart, ReportOptions } from './page.js';

export type { Report, ReportChart, ReportOptions } from './page.js';

export async function buildReport(folder: string, o: ReportOptions = {}): Promise<Report> {
  if (!existsSync(folder))
    throw new Error(
      `${folder}: no such folder (not found), expected a run folder (low train --out) or an experiment folder (low compare --out)`,
    );
  if (isExperimentFolder(folder)) return buildExperimentReport(folder, o);
  if (isRunFolder(folder)) return buildRunReport(folder, o);
  throw new Error(`${folder} is neither a run folder (config.json and metrics.csv) nor an experiment folder (experiment.json)`);
}

/** Writes charts as PNG files named after them into `dir` (the folder of `low report --png`); returns the paths. */
export async function writeChartPngs(charts: ReportChart[], dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const c of charts) {
    const file = join(dir, `${c.name}.png`);
    writeOutputFile('--png', file, await svgToPng(c.svg));
    out.push(file);
  }
  return out;
}

/** Builds the report of `folder` and writes it to `out` (and its charts to o.pngDir); both paths are checked before the report is built. */
export async function writeReport(folder: string, out: string, o: ReportOptions = {}): Promise<Report & { out: string; pngs: string[] }> {
  checkOutputFile('--out', out, { inputs: [folder] });
  if (o.pngDir !== undefined) checkOutputFolder('--png', o.pngDir);
  const report = await buildReport(folder, o);
  writeOutputFile('--out', out, report.html);
  const pngs = o.pngDir ? await writeChartPngs(report.charts, o.pngDir) : [];
  return { ...report, out, pngs };
}
