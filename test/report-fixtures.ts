// Tiny synthetic run and experiment folders for the analysis and report tests: a 'folder' dataset
// of small generated PNGs (so images can be rebuilt without any downloaded data), and run folders
// written in the exact format trainRun writes, with a per-sample history chosen by the test.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as torch from '../src/torch/index.js';
import { DEFAULT_CONFIG, type RunConfig } from '../src/train/config.js';
import { prepareData } from '../src/train/prepare-data.js';
import { SampleHistory } from '../src/train/history.js';
import { METRIC_COLUMNS, writeMetricsCsv, type MetricsRow } from '../src/train/metrics-file.js';
import { planRuns } from '../src/train/experiment.js';

export const CLASSES = ['ant', 'bee', 'cat', 'dog'];

/** The folder dataset decodes images at 300 x 300, which LeNet-5 (the default model) cannot take; a run of these could train this one. */
export const FOLDER_MODEL = 'wrn-28-2';

/**
 * `<root>/train/<class>/s0..s{perClass-1}.png` and one test image per class: 8 x 8 grey squares
 * whose brightness encodes class and index. Training-set position p is class floor(p / perClass).
 */
export async function makeImageFolder(root: string, perClass = 5): Promise<string> {
  for (const [c, name] of CLASSES.entries()) {
    for (const split of ['train', 'test']) {
      const dir = join(root, split, name);
      mkdirSync(dir, { recursive: true });
      const count = split === 'train' ? perClass : 1;
      for (let k = 0; k < count; k++) {
        const px = Buffer.alloc(64, 40 + c * 50 + k * 8);
        px[0] = 255; // a bright corner, so that images are not uniform
        await sharp(px, { raw: { width: 8, height: 8, channels: 1 } })
          .png()
          .toFile(join(dir, `s${k}.png`));
      }
    }
  }
  return root;
}

export interface RunFixture {
  /** Config overrides (dataset is the image folder). */
  config?: Partial<RunConfig>;
  /** Epochs in the config; the history holds `completed` of them (default all). */
  epochs: number;
  completed?: number;
  weight: (epoch: number, position: number) => number;
  loss?: (epoch: number, position: number) => number;
  margin?: (epoch: number, position: number) => number;
  /** metrics.csv values per epoch (0-based); unspecified columns are NaN. */
  row?: (epoch: number) => Partial<MetricsRow>;
  /** Write final.json (default: when every epoch is completed). */
  finished?: boolean;
}

/** A run folder as trainRun leaves it, without model parameters in the checkpoint. */
export async function makeRunFolder(dir: string, dataDir: string, f: RunFixture): Promise<RunConfig> {
  mkdirSync(dir, { recursive: true });
  const config: RunConfig = {
    ...DEFAULT_CONFIG,
    dataset: 'folder',
    dataDir,
    model: FOLDER_MODEL,
    strategy: 'low:lambda=0.1',
    epochs: f.epochs,
    ...f.config,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const data = await prepareData(config);
  const n = data.train.labels.length;
  const tensors: Record<string, torch.Tensor> = { ids: torch.tensor(data.train.ids), labels: torch.tensor(data.train.labels) };
  if (data.cleanLabels) tensors.cleanLabels = torch.tensor(data.cleanLabels);
  if (data.isNoisy) tensors.isNoisy = torch.tensor(data.isNoisy);
  torch.saveTensors(join(dir, 'samples.lowt'), tensors, {
    classNames: data.classNames,
    dataset: data.train.name,
    trainCounts: data.trainCounts,
  });
  for (const t of Object.values(tensors)) t.dispose();

  const completed = f.completed ?? f.epochs;
  const history = new SampleHistory(f.epochs, n);
  for (let e = 0; e < completed; e++) {
    for (let p = 0; p < n; p++) {
      history.weight[e * n + p] = f.weight(e, p);
      history.loss[e * n + p] = f.loss ? f.loss(e, p) : 1;
      history.margin[e * n + p] = f.margin ? f.margin(e, p) : 1;
    }
  }
  const rows: MetricsRow[] = [];
  for (let e = 0; e < completed; e++) {
    const row = Object.fromEntries(METRIC_COLUMNS.map((c) => [c, NaN])) as MetricsRow;
    Object.assign(row, { epoch: e + 1, lr: config.lr, seconds: 1 }, f.row?.(e));
    rows.push(row);
  }
  torch.saveTensors(join(dir, 'checkpoint.lowt'), history.toArrays(), { epoch: completed, rows, momentum: [] });
  writeMetricsCsv(join(dir, 'metrics.csv'), rows);
  const means = history.classMeans(data.train.labels, data.numClasses, completed);
  const lines = ['epoch,class,class_name,mean_weight'];
  means.forEach((r, e) => r.forEach((m, c) => lines.push(`${e + 1},${c},${data.classNames[c]},${Number.isNaN(m) ? '' : m}`)));
  writeFileSync(join(dir, 'class-weights.csv'), `${lines.join('\n')}\n`);
  if (f.finished ?? completed === f.epochs)
    writeFileSync(join(dir, 'final.json'), JSON.stringify({ config, final: rows[rows.length - 1], rows }, null, 2));
  return config;
}

/** test_err of the experiment fixture: a formula the tests recompute by hand. */
export const fixtureTestErr = (strategy: string, seed: number, epoch: number): number => {
  const base = strategy === 'normal' ? 0.3 : strategy === 'low:lambda=1' ? 0.25 : 0.2;
  return base + 0.04 * seed + 0.2 / (epoch + 1);
};

/**
 * An experiment folder: normal and LOW (lambda 1 and 0.1), or the strategies given, seeds 0 and 1,
 * 3 epochs; every run finished, with test_err from {@link fixtureTestErr} and test_acc = 1 -
 * test_err. LOW's weights grow with the position for lambda 0.1, and are 1 for normal.
 */
export async function makeExperimentFolder(dir: string, dataDir: string, strategies = ['normal', 'low']): Promise<void> {
  const base = { ...DEFAULT_CONFIG, dataset: 'folder', dataDir, model: FOLDER_MODEL, epochs: 3 };
  const { strategy: _s, seed: _d, ...rest } = base;
  const plan = { strategies, lambdas: [1, 0.1], seeds: [0, 1], base: rest, select: 'acc' };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'experiment.json'), JSON.stringify(plan, null, 2));
  for (const run of planRuns(plan, dir)) {
    const err = (e: number) => fixtureTestErr(run.strategy, run.seed, e);
    await makeRunFolder(run.dir, dataDir, {
      config: { strategy: run.strategy, seed: run.seed },
      epochs: 3,
      weight: (e, p) =>
        run.strategy === 'normal' ? 1 : run.strategy === 'low:lambda=1' ? 1 + 0.001 * (p - 10) : 0.5 + 0.05 * p + 0.01 * e,
      loss: (e, p) => 2 / (e + 1) + 0.01 * p,
      row: (e) => ({
        test_err: err(e),
        test_acc: 1 - err(e),
        test_bacc: 1 - err(e) - 0.01,
        test_mauc: 0.9,
        test_mf1: 0.7,
        test_loss: 1 / (e + 1),
        train_loss: 2 / (e + 1),
        train_loss_plain: 2 / (e + 1),
        train_err: err(e) - 0.05,
        weight_std: run.strategy === 'normal' ? 0 : 0.3,
      }),
    });
  }
}
