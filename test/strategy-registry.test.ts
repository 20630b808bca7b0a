// The strategy registry: every strategy declared once, and everything that reads the declarations
// (parsing, validation, canonical names, tuning grids, experiment planning, summaries) agreeing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStrategy, formatStrategy, isProposedFamily, parseStrategy, strategyDefinitions } from '../src/weighting/registry.js';
import { inRange, usageOf } from '../src/weighting/strategy-definition.js';
import { planTuningRuns, searchGrid } from '../src/train/tuning.js';
import { planRuns } from '../src/train/experiment.js';
import { DEFAULT_CONFIG, validateConfig } from '../src/train/config.js';

const info = { classCounts: [3, 1], size: 4, batchSize: 2 };

test('every definition: defaults and tuning values are valid options, and the canonical text of each grid point parses back to it', () => {
  for (const def of strategyDefinitions()) {
    assert.ok(def.help.length > 10, `${def.name}: a help line`);
    assert.ok(usageOf(def).startsWith(def.name), `${def.name}: usage`);
    for (const [key, o] of Object.entries(def.options)) {
      if (o.type === 'number' && o.default !== undefined && o.range)
        assert.ok(inRange(o.default, o.range), `${def.name}.${key}: default ${o.default} in range`);
      if (o.type === 'word' && o.default !== undefined)
        assert.ok(o.values.includes(o.default), `${def.name}.${key}: default among the values`);
      if (o.requires) assert.ok(def.options[o.requires.option], `${def.name}.${key} requires a declared option`);
    }
    if (def.sweep) assert.ok(def.options[def.sweep], `${def.name}: the sweep option is declared`);
    for (const [key, values] of Object.entries(def.tuningGrid ?? {})) {
      for (const v of values) {
        const text = `${def.name}:${key}=${v}`;
        assert.equal(formatStrategy(parseStrategy(formatStrategy(parseStrategy(text)))), formatStrategy(parseStrategy(text)), text);
      }
    }
  }
});

const specValidationTitle =
  'spec validation: duplicates, options a strategy does not take or that do not apply, ' +
  'non-decimal numbers and ranges are refused, naming the key';
test(specValidationTitle, () => {
  const refused: [string, RegExp][] = [
    ['low:lambda=1,lambda=2', /option lambda is given twice/],
    ['normal:gamma=2', /bad option 'gamma=2' \(options of normal: none/],
    ['focal:lambda=1', /bad option 'lambda=1' \(options of focal: gamma/],
    ['low:gamma=2', /option gamma applies only with base=focal/],
    ['low:base=bce,gamma=2', /option gamma applies only with base=focal/],
    ['low:lambda=0x2', /option lambda must be a number, got '0x2'/],
    ['low:lambda=Infinity', /option lambda must be a number, got 'Infinity'/],
    ['low:lambda=0', /lambda must be a finite number > 0, got 0/],
    ['spl:q=0', /q must be a number in \(0, 1\], got 0/],
    ['spl:growth=0.5', /growth must be a finite number >= 1, got 0.5/],
    ['is:presample=2.5', /presample must be an integer >= 1, got 2.5/],
    ['is:tau=-1', /tau must be a finite number > 0/],
    ['mentornet-pd:p=1.5', /p must be a fraction in \[0, 1\], got 1.5/],
    ['mentornet-pd:decay=1', /decay must be a number in \[0, 1\), got 1/],
    ['focal:gamma=-1', /gamma must be a finite number >= 0, got -1/],
    ['low:base=mse', /base must be ce, bce, focal, logit-adjust, balanced-softmax, ldam or cb, got 'mse'/],
    ['low:lambda', /bad option 'lambda'/],
    ['nope', /unknown strategy 'nope'.*expected one of: normal, focal, bce, spl, is, low, mentornet-pd, mentornet/],
  ];
  for (const [text, message] of refused) {
    assert.throws(
      () => parseStrategy(text),
      (e: Error) => e instanceof RangeError && e.message.includes(`'${text}'`) && message.test(e.message),
      text,
    );
    // validateConfig refuses it too: the CLI calls it before any folder is made.
    assert.throws(() => validateConfig({ ...DEFAULT_CONFIG, strategy: text }), RangeError, text);
  }
  assert.equal(createStrategy(parseStrategy('low:base=focal,gamma=1'), info).loss.name, 'focal');
  assert.equal(formatStrategy(parseStrategy('low:base=focal,gamma=1,lambda=0.5')), 'low:base=focal,gamma=1,lambda=0.5');
});

const sweepAndGridTitle =
  'the protocol sweep and the tuning grid come from the definitions: LOW over lambda (and scaling), the others over their own options';
test(sweepAndGridTitle, () => {
  assert.deepEqual(searchGrid(parseStrategy('low'), [1, 0.1]), { lambda: [1, 0.1], scale: ['sample', 'batch-mean'] });
  assert.deepEqual(searchGrid(parseStrategy('focal'), [1]), { gamma: [1, 2, 5] });
  assert.deepEqual(searchGrid(parseStrategy('bce'), [1]), {});
  const base = { ...DEFAULT_CONFIG, valFraction: 0.1 };
  const planned = planRuns(
    {
      strategies: ['normal', 'low', 'low:lambda=0.5', 'low:scale=batch-mean', 'mentornet-pd:lambda2=1'],
      lambdas: [1, 0.1],
      seeds: [0],
      base,
    },
    '/x',
  );
  assert.deepEqual(
    planned.map((r) => [r.strategy, r.family]),
    [
      ['normal', 'normal'],
      ['low:lambda=1', 'low'],
      ['low:lambda=0.1', 'low'],
      ['low:lambda=0.5', 'low'],
      ['low:scale=batch-mean,lambda=1', 'low:scale=batch-mean'],
      ['low:scale=batch-mean,lambda=0.1', 'low:scale=batch-mean'],
      ['mentornet-pd:lambda2=1', 'mentornet-pd:lambda2=1'],
    ],
  );
  // A fixed option is not searched: low:scale=sample tunes lambda only.
  const tuning = planTuningRuns({ strategies: ['low:scale=sample'], lrs: [0.1], lambdas: [1, 0.5], epochs: 1, seeds: [0], base }, '/x');
  assert.deepEqual(
    tuning.map((r) => r.config.strategy),
    ['low:lambda=1', 'low:lambda=0.5'],
  );
  assert.ok(isProposedFamily('low') && isProposedFamily('low:base=focal') && !isProposedFamily('focal') && !isProposedFamily('normal'));
});
