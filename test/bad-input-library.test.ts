// The library called wrongly, as a TypeScript user (or plain JavaScript, which checks no types)
// would: non-tensors given to torch and functional ops, wrong shapes and labels to lowLoss, bad
// inputs to lowWeights and the metrics, raw bytes of the wrong size, a Worker terminated while it is
// inside the addon. Each call runs in a script of its own: it must throw an error of the right class
// naming the argument and what was expected (never kill the process with a signal), or, where the
// call is allowed, return the right thing.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { badInputSuite, libraryCase, type BadInputCase } from './bad-input-harness.js';

const cores = availableParallelism();

badInputSuite('library', () => {
  const cases: BadInputCase[] = [];
  /** A call that must throw: `error` matches `Name: message`. */
  const throws = (name: string, body: string, error: RegExp[]) => cases.push(libraryCase(name, body, { error }));
  const TYPE = /^TypeError: /;
  const RANGE = /^RangeError: /;
  const TYPE_OR_RANGE = /^(TypeError|RangeError): /;

  // ---- functional ops and tensor methods given things that are not tensors ----
  throws('F.relu({})', 'return F.relu({});', [TYPE, /relu/, /Tensor/]);
  throws('F.relu(null)', 'return F.relu(null);', [TYPE, /relu/, /Tensor/, /null/]);
  throws('F.softmax({})', 'return F.softmax({}, 1);', [TYPE, /softmax/, /Tensor/]);
  throws('F.linear(x, {}) (weight not a tensor)', 'return F.linear(torch.ones([2, 3]), {});', [TYPE, /linear/, /weight/]);
  throws('F.conv2d(x, null) (weight missing)', 'return F.conv2d(torch.ones([1, 1, 4, 4]), null);', [TYPE, /conv2d/, /weight/]);
  throws('F.crossEntropy("logits", y)', 'return F.crossEntropy("logits", torch.tensor(new BigInt64Array([0n])));', [
    TYPE,
    /crossEntropy/,
    /logits/,
  ]);
  throws('F.crossEntropy with float targets', 'return F.crossEntropy(torch.zeros([2, 3]), torch.tensor([0, 1]));', [
    /crossEntropy|target/,
    /int64|Long|integer/,
  ]);
  throws('x.add({})', 'return torch.ones([3]).add({});', [TYPE, /add/, /Tensor|number/]);
  throws('x.matmul("a")', 'return torch.ones([2, 2]).matmul("a");', [TYPE, /matmul/, /Tensor/]);
  throws('torch.cat with a non-tensor', 'return torch.cat([torch.ones([2]), {}]);', [TYPE, /cat/, /Tensor/]);

  // ---- creating tensors from bad data ----
  throws('torch.tensor("abc")', 'return torch.tensor("abc");', [TYPE, /tensor/, /array/]);
  throws('torch.tensor([1, "a", 3])', 'return torch.tensor([1, "a", 3]);', [TYPE, /tensor/, /number/, /"a"|'a'|string/]);
  throws('torch.tensor(new Uint16Array(3)) (unsupported type)', 'return torch.tensor(new Uint16Array(3));', [
    TYPE_OR_RANGE,
    /Uint16Array|unsupported/,
  ]);
  throws('torch.tensor with a negative dimension', 'return torch.tensor(new Float32Array(0), { shape: [-2, 0] });', [
    RANGE,
    /shape/,
    /negative|-2/,
  ]);
  throws('torch.zeros([-1])', 'return torch.zeros([-1]);', [RANGE, /zeros|shape/, /negative|-1/]);
  throws('torch.zeros of 10^20 elements', 'return torch.zeros([1e10, 1e10]).shape;', [/zeros|memory|alloc|too large|overflow|2\^53/i]);
  cases.push(
    libraryCase('torch.setNumThreads(100000)', 'torch.setNumThreads(100000); return torch.getNumThreads();', {
      error: [RANGE, /setNumThreads/, /100000/, new RegExp(`\\b${cores}\\b`)],
      // Accepted, 100000 threads would load the machine for every other case.
      timeoutMs: 20_000,
    }),
  );
  throws('torch.manualSeed(1e20)', 'torch.manualSeed(1e20);', [RANGE, /manualSeed|seed/, /2\^53|9007199254740991|2\^64/]);
  cases.push(
    libraryCase(
      'affineFromBytes of 0 images',
      'const t = torch.affineFromBytes(new Uint8Array(0), [0, 3, 2, 2], [1], [0]); return t.shape;',
      {
        error: [TYPE_OR_RANGE, /affineFromBytes|affineBytes/],
        returns: (v) => JSON.stringify(v) === '[0,3,2,2]',
      },
    ),
  );
  throws('affineFromBytes with too few bytes', 'return torch.affineFromBytes(new Uint8Array(10), [1, 3, 2, 2], [1], [0]);', [
    RANGE,
    /affine/,
    /12/,
    /10/,
  ]);

  // ---- LOW: lowWeights and lowLoss ----
  throws('lowWeights of strings', 'return low.lowWeights(["1", "2", "x"], { lambda: 1 });', [
    TYPE_OR_RANGE,
    /lowWeights/,
    /gradNormSq\[0\]/,
    /number|string/,
  ]);
  throws('lowWeights with NaN', 'return low.lowWeights([1, NaN, 2], { lambda: 1 });', [RANGE, /gradNormSq\[1\]/, /NaN/]);
  throws('lowWeights with lambda 0', 'return low.lowWeights([1, 2], { lambda: 0 });', [RANGE, /lambda/, /> 0/]);
  throws('lowWeights(null)', 'return low.lowWeights(null, { lambda: 1 });', [TYPE, /lowWeights/, /gradNormSq/]);
  throws('lowWeights with a too short out buffer', 'return low.lowWeights([1, 2, 3], { lambda: 1, out: new Float64Array(2) });', [
    RANGE,
    /options\.out/,
    /3/,
  ]);
  throws('lowLoss on 1-d logits', 'return low.lowLoss(torch.zeros([4]), torch.tensor(new BigInt64Array(4)), { lambda: 0.1 });', [
    /lowLoss|logits/,
    /\[M, C\]/,
  ]);
  throws(
    'lowLoss with 5 labels for 4 samples',
    'return low.lowLoss(torch.zeros([4, 3]), torch.tensor(new BigInt64Array(5)), { lambda: 0.1 });',
    [/labels/, /5/, /4/],
  );
  throws(
    'lowLoss with a label 7 of 3 classes',
    'return low.lowLoss(torch.zeros([2, 3]), torch.tensor(new BigInt64Array([0n, 7n])), { lambda: 0.1 });',
    [/7/, /out of (bounds|range)|0\.\.2|\[0, 3\)|3 classes/],
  );
  throws('lowLoss with lambda -1', 'return low.lowLoss(torch.zeros([2, 3]), torch.tensor(new BigInt64Array([0n, 1n])), { lambda: -1 });', [
    RANGE,
    /lambda/,
    /-1/,
  ]);

  // ---- metrics ----
  throws('evaluate with probs of the wrong length', 'return low.evaluate({ probs: [0.5], labels: [0, 1], numClasses: 2 });', [
    RANGE,
    /probs/,
    /labels\.length|numClasses/,
  ]);
  throws('confusionMatrix with lengths 3 and 2', 'return low.confusionMatrix({ labels: [0, 1, 1], predicted: [0, 1], numClasses: 2 });', [
    RANGE,
    /predicted/,
    /labels/,
    /3|2/,
  ]);
  throws('rocAuc with a NaN score', 'return low.rocAuc([0.1, NaN], [0, 1]);', [RANGE, /scores/, /NaN/]);

  // ---- optimizers, models, files ----
  cases.push(
    libraryCase('saveTensors under a file', 'torch.saveTensors(path.join(dir, "notes.txt", "t.lowt"), { a: torch.ones([2]) });', {
      prepare: (dir) => writeFileSync(join(dir, 'notes.txt'), 'my notes\n'),
      error: [/notes\.txt/, /not a (folder|directory)|ENOTDIR/],
    }),
    // A Worker killed by terminate() while a long libtorch call runs inside the addon: the process
    // must survive it, and the main thread's tensors keep working.
    libraryCase(
      'a Worker terminated inside an addon call',
      `const { Worker } = await import('node:worker_threads');
       const workerFile = path.join(dir, 'busy-worker.mjs');
       fs.writeFileSync(workerFile, [
         'import { parentPort, workerData } from "node:worker_threads";',
         'const { register } = await import(workerData.tsxApi);',
         'register();',
         'const torch = await import(workerData.torchModule);',
         'const a = torch.randn([700, 700]);',
         'parentPort.postMessage("ready");',
         'for (;;) { const b = a.matmul(a); b.dispose(); }',
       ].join('\\n'));
       const worker = new Worker(workerFile, { workerData: { tsxApi, torchModule } });
       await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
       await new Promise((resolve) => setTimeout(resolve, 200));
       const code = await worker.terminate();
       const sum = torch.ones([3]).sum().item();
       return { code, sum };`,
      { returns: (v) => (v as { sum?: number }).sum === 3 },
    ),
  );
  return cases;
});
