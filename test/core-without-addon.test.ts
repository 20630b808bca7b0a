// low-ts/core without libtorch: the core entry bundled for a browser (esbuild, platform browser)
// contains nothing native and nothing from Node, and the bundle, run by itself in a folder where
// no addon can be found, computes LOW's weights and the metrics (hand-worked cases). The closed
// gradient norms against finite differences; the TensorFlow.js example (examples/tfjs-low.ts,
// quoted in the README) trains a tiny MLP with LOW on the pure-JS cpu backend. And the package
// installs without libtorch (npm's install hook), for low-ts/core alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { classWeightedGradNormSq, crossEntropyGradNormSq, focalGradNormSq, lowWeights, softmaxRows } from '../src/core/index.js';

const root = join(import.meta.dirname, '..');

test("npm's install hook passes without libtorch (a core-only install) and says how to get the engine; the set-up's build still fails", () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const hook = pkg.scripts.install!.split(' ').slice(1); // node native/build.mjs --optional
  const env = { ...process.env, LIBTORCH: join(tmpdir(), 'no-libtorch-here') };
  const optional = spawnSync(process.execPath, hook, { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(optional.status, 0, optional.stderr);
  assert.match(optional.stderr, /LIBTORCH=.*no-libtorch-here does not look like a libtorch folder/);
  assert.match(optional.stderr, /not built.*low-ts\/core.*works without it/s);
  const strict = spawnSync(process.execPath, ['native/build.mjs'], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(strict.status, 1);
  assert.match(strict.stderr, /does not look like a libtorch folder/);
  assert.doesNotMatch(strict.stderr, /works without it/);
});

test('the core bundles for a browser with nothing native or from Node, and runs with no addon in reach', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'low-core-'));
  try {
    const out = join(dir, 'core.mjs');
    await build({
      entryPoints: [join(root, 'src', 'core', 'index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      outfile: out,
      logLevel: 'silent',
    });
    const code = readFileSync(out, 'utf8');
    assert.doesNotMatch(code, /from ["']node:|require\(|low_native|\.node["']/, 'no Node module, no addon');
    console.log(`low-ts/core for the browser: ${(code.length / 1024).toFixed(1)} KiB unminified`);
    writeFileSync(
      join(dir, 'run.mjs'),
      `import * as core from './core.mjs';
       const w = core.lowWeights([0, 0.2, 0.6], { lambda: 0.5 });
       const e = core.evaluate({ probs: [0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.3, 0.7], labels: [0, 1, 1, 0], numClasses: 2 });
       console.log(JSON.stringify({ w: Array.from(w), acc: e.acc, bacc: e.bacc, mauc: e.mauc, p: core.pairedTTest([1, 2, 3], [1, 2, 4]).pValue }));`,
    );
    // A folder of its own, a plain node: nothing of low-ts (nor its addon) is resolvable from there.
    const r = spawnSync(process.execPath, [join(dir, 'run.mjs')], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { w: number[]; acc: number; bacc: number; mauc: number; p: number };
    // 1 + g2 / (2 lambda) = [1, 1.2, 1.6], projected onto sum 3: minus 0.8 / 3 each.
    [1 - 0.8 / 3, 1.2 - 0.8 / 3, 1.6 - 0.8 / 3].forEach((v, i) => assert.ok(Math.abs(got.w[i]! - v) < 1e-12, `w[${i}]`));
    // Predictions 0, 1, 0, 1 against labels 0, 1, 1, 0: 2 of 4 right, each class half right.
    assert.equal(got.acc, 0.5);
    assert.equal(got.bacc, 0.5);
    // Class 1's AUC: positives (rows 2, 3) score 0.4 and 0.8, negatives 0.1 and 0.7: 3 of 4 pairs ordered; class 0 likewise.
    assert.ok(Math.abs(got.mauc - 0.75) < 1e-12, `mAUC ${got.mauc}`);
    // d = [0, 0, -1]: t = -1 on 2 degrees of freedom, whose two-sided p is 1 - 1 / sqrt(3).
    assert.ok(Math.abs(got.p - (1 - 1 / Math.sqrt(3))) < 1e-9, `t-test p ${got.p}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the core gradient norms equal finite differences of CE, class-weighted CE and focal loss at the logits', () => {
  const logits = [1, -0.5, 0.3, 0.2, 2, -1];
  const labels = [2, 1];
  const C = 3;
  const ce = (z: number[], y: number) => -Math.log(softmaxRows(z, C)[y]!);
  const focal = (z: number[], y: number, g: number) => {
    const p = softmaxRows(z, C)[y]!;
    return -((1 - p) ** g) * Math.log(p);
  };
  const fd = (f: (z: number[], y: number) => number) =>
    labels.map((y, i) => {
      const z = logits.slice(i * C, i * C + C);
      let s = 0;
      for (let c = 0; c < C; c++) {
        const h = 1e-6;
        const up = [...z];
        const down = [...z];
        up[c]! += h;
        down[c]! -= h;
        s += ((f(up, y) - f(down, y)) / (2 * h)) ** 2;
      }
      return s;
    });
  const close = (a: ArrayLike<number>, b: number[], what: string) =>
    b.forEach((v, i) => assert.ok(Math.abs(a[i]! - v) < 1e-7 * (1 + v), `${what}[${i}]: ${a[i]} vs ${v}`));
  close(crossEntropyGradNormSq(logits, labels, C), fd(ce), 'ce');
  const w = [0.5, 2, 3];
  close(
    classWeightedGradNormSq(crossEntropyGradNormSq(logits, labels, C), labels, w),
    fd((z, y) => w[y]! * ce(z, y)),
    'weighted',
  );
  for (const g of [0, 1, 2])
    close(
      focalGradNormSq(logits, labels, C, g),
      fd((z, y) => focal(z, y, g)),
      `focal gamma ${g}`,
    );
  assert.throws(() => crossEntropyGradNormSq([1, 2], [0], 3), /logits has 2 values, expected labels.length x numClasses = 1 x 3/);
  assert.throws(() => crossEntropyGradNormSq([1, 2], [2], 2), /labels\[0\] = 2, expected a class index in 0..1/);
});

test('the TensorFlow.js example trains a tiny MLP with LOW (pure-JS cpu backend); its weights are LOW on g2 from softmax by hand', async () => {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  const { lowStep } = await import('../examples/tfjs-low.js');
  const n = 24;
  const C = 3;
  const labels = Int32Array.from({ length: n }, (_, i) => i % C);
  const xs = Float32Array.from({ length: n * 2 }, (_, k) => {
    const i = Math.floor(k / 2);
    const angle = (2 * Math.PI * labels[i]!) / C;
    return (k % 2 === 0 ? Math.cos(angle) : Math.sin(angle)) + 0.3 * Math.sin(7.1 * k);
  });
  const x = tf.tensor2d(xs, [n, 2]);
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, activation: 'relu', inputShape: [2], kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: C, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const optimizer = tf.train.sgd(0.5);
  const losses: number[] = [];
  for (let step = 0; step < 40; step++) {
    const logits = tf.tidy(() => (model.predict(x) as typeof x).dataSync());
    const { loss, weights } = lowStep(model, optimizer, x, labels, C, 0.1);
    losses.push(loss);
    if (step === 0) {
      const g2 = Array.from(labels, (y, i) => {
        const z = Array.from(logits.slice(i * C, i * C + C));
        const e = z.map((v) => Math.exp(v - Math.max(...z)));
        const sum = e.reduce((a, b) => a + b, 0);
        return e.reduce((a, v, c) => a + (v / sum - (c === y ? 1 : 0)) ** 2, 0);
      });
      const expected = lowWeights(g2, { lambda: 0.1 });
      weights.forEach((w, i) => assert.ok(Math.abs(w - expected[i]!) < 1e-6, `weight ${i}: ${w} vs ${expected[i]}`));
      assert.ok(Math.abs(weights.reduce((a, b) => a + b, 0) - n) < 1e-9, 'weights sum to the batch size');
    }
  }
  assert.ok(losses.at(-1)! < 0.5 * losses[0]!, `LOW-weighted loss ${losses[0]} -> ${losses.at(-1)}`);
  // The README shows exactly this example (after its import lines).
  const example = readFileSync(join(root, 'examples', 'tfjs-low.ts'), 'utf8');
  const body = example.slice(example.indexOf('/**'));
  assert.ok(readFileSync(join(root, 'README.md'), 'utf8').includes(body.trim()), 'README quotes examples/tfjs-low.ts');
  model.dispose();
  x.dispose();
});
