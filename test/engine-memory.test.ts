// Tensor lifetimes: tidy scopes free what they should, a LeNet-5 training loop runs in constant
// memory, and tensors nobody disposes are collected by the garbage collector.
//
// Tensor handles are freed by napi finalizers, which Node runs from the event loop (after a GC),
// not inside it: a loop must yield now and then (as the trainer does, awaiting batches) for the
// small per-handle records of already-disposed tensors and for forgotten tensors to be reclaimed.
// The loops below therefore await a macrotask every few steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';

import * as torch from '../src/torch/index.js';
import { F, type Tensor } from '../src/torch/index.js';
import { LeNet5 } from '../src/models/lenet5.js';
import { SGD } from '../src/optim/index.js';

// As training runs it (the CLI calls configure at start): the retained heap (addon.cc's
// keepFreedMemory), whose resident memory the tests below watch, and one thread.
torch.configure({ threads: 1 });

// A real collector handle, whether or not node ran with --expose-gc.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Collect garbage and let the deferred finalizers run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await nextMacrotask();
  }
}

const handles = (): number => torch.memoryStats().handles;
const rssMb = (): number => process.memoryUsage().rss / 2 ** 20;

test('tidy frees every tensor it created, and only those', async () => {
  await settle();
  const base = handles();
  const outside = torch.ones([3]);
  assert.equal(handles(), base + 1);
  torch.tidy(() => {
    let x = torch.randn([10, 10]);
    for (let i = 0; i < 200; i++) x = x.mul(0.5).add(outside.sum()).relu();
    F.softmax(x.matmul(x.t()), 1);
    assert.ok(handles() > base + 400);
  });
  assert.equal(handles(), base + 1);
  assert.equal(outside.isDisposed, false);
  assert.deepEqual(outside.toNumbers(), [1, 1, 1]);
  outside.dispose();
  assert.equal(handles(), base);
});

test('tidy: returned tensors survive (directly, in arrays, objects and Maps); the rest is freed', () => {
  const base = handles();
  let dropped: Tensor | null = null;
  const r = torch.tidy(() => {
    dropped = torch.zeros([2]);
    const a = torch.ones([2]);
    return { a, list: [a.add(1), a.add(2)], map: new Map([['m', a.mul(5)]]), n: 42 };
  });
  assert.equal(handles(), base + 4);
  assert.equal(dropped!.isDisposed, true);
  assert.deepEqual(r.a.toNumbers(), [1, 1]);
  assert.deepEqual(
    r.list.map((t) => t.toNumbers()),
    [
      [2, 2],
      [3, 3],
    ],
  );
  assert.deepEqual(r.map.get('m')!.toNumbers(), [5, 5]);
  assert.equal(r.n, 42);
  for (const t of [r.a, ...r.list, r.map.get('m')!]) t.dispose();
  assert.equal(handles(), base);
});

test('tidy: a nested tidy return moves to the parent scope; keep() survives all scopes', () => {
  const base = handles();
  let inner: Tensor | null = null;
  let kept: Tensor | null = null;
  const outer = torch.tidy(() => {
    inner = torch.tidy(() => {
      torch.ones([4]); // freed by the inner scope
      kept = torch.keep(torch.full([1], 7));
      return torch.ones([2]).mul(3);
    });
    // The inner scope is closed: its return value lives on, owned by this scope now.
    assert.equal(handles(), base + 2);
    assert.equal(inner.isDisposed, false);
    return inner.add(1);
  });
  // The outer scope freed the inner result (not returned from it); the kept tensor remains.
  assert.equal(inner!.isDisposed, true);
  assert.equal(kept!.isDisposed, false);
  assert.deepEqual(outer.toNumbers(), [4, 4]);
  assert.deepEqual(kept!.toNumbers(), [7]);
  assert.equal(handles(), base + 2);
  outer.dispose();
  kept!.dispose();
  assert.equal(handles(), base);
  // A nested return passed on by the parent survives both.
  const passed = torch.tidy(() => torch.tidy(() => torch.ones([1])));
  assert.equal(passed.isDisposed, false);
  passed.dispose();
  assert.equal(handles(), base);
});

test('tidy: an exception inside (also in a nested scope) still frees everything; a Promise is refused', () => {
  const base = handles();
  let made: Tensor[] = [];
  assert.throws(
    () =>
      torch.tidy(() => {
        made.push(torch.ones([100]));
        torch.tidy(() => {
          made.push(torch.ones([100]));
          made.push(torch.ones([2, 3]).matmul(torch.ones([4, 5]))); // throws
        });
      }),
    /^Error: matmul: /,
  );
  assert.equal(made.length, 2);
  assert.ok(made.every((t) => t.isDisposed));
  assert.equal(handles(), base);

  made = [];
  assert.throws(
    () =>
      torch.tidy(() => {
        made.push(torch.ones([3]));
        return Promise.resolve(1);
      }),
    (e: unknown) => e instanceof TypeError && /synchronous/.test(e.message),
  );
  assert.ok(made[0]!.isDisposed);
  assert.equal(handles(), base);
  // Scopes are balanced after all that.
  const t = torch.tidy(() => torch.ones([1]));
  assert.equal(t.isDisposed, false);
  t.dispose();
  assert.equal(handles(), base);
});

test('LeNet5 training loop (batch 32, 1500 steps, inside tidy): constant live handles and bounded resident memory', async (t) => {
  await settle();
  const base = handles();
  torch.manualSeed(0);
  const model = new LeNet5();
  const optimizer = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
  // A few fixed batches, reused in turn.
  const batches = Array.from({ length: 4 }, () => ({ x: torch.rand([32, 1, 28, 28]), y: torch.randint(0, 10, [32]) }));
  const STEPS = 1500;
  const counts: number[] = [];
  const bytes: number[] = [];
  const losses: number[] = [];
  // Resident memory is sampled (after a collection) every 50 steps. A single sample moves by a
  // few MB either way with allocator and V8 heuristics, so "at step 300" is the median of the
  // samples at steps 300, 350 and 400, and "at the end" the median of steps 1400, 1450, 1500:
  // a leak raises both the floor and the median; a passing spike does not.
  const rss = new Map<number, number>();
  let heapAt300 = 0;
  for (let step = 1; step <= STEPS; step++) {
    const { x, y } = batches[step % batches.length]!;
    const loss = torch.tidy(() => {
      optimizer.zeroGrad();
      const l = F.crossEntropy(model.forward(x), y);
      l.backward();
      optimizer.step();
      return l.item();
    });
    losses.push(loss);
    counts.push(handles());
    bytes.push(torch.memoryStats().bytes);
    if (step % 10 === 0) await nextMacrotask();
    if (step % 50 === 0) {
      await settle();
      rss.set(step, rssMb());
      if (step === 300) heapAt300 = process.memoryUsage().heapTotal / 2 ** 20;
    }
  }
  const heapEnd = process.memoryUsage().heapTotal / 2 ** 20;
  const median = (steps: number[]): number => steps.map((s) => rss.get(s)!).sort((a, b) => a - b)[1]!;
  const rssAt300 = median([300, 350, 400]);
  const rssEnd = median([STEPS - 100, STEPS - 50, STEPS]);

  // After the first step (which creates the momentum buffers) nothing accumulates.
  const warm = counts.slice(5);
  assert.ok(
    warm.every((c) => c === warm[0]),
    `live handles vary after warm-up: ${Math.min(...warm)}..${Math.max(...warm)}`,
  );
  // Parameters (10) + momentum buffers (10) + the batches (8).
  assert.equal(warm[0], base + 28);
  assert.ok(
    bytes.slice(5).every((b) => b === bytes[5]),
    'live tensor bytes constant after warm-up',
  );
  const growth = (rssEnd - rssAt300) / rssAt300;
  const samples = [...rss.entries()].filter(([s]) => s % 100 === 0).map(([, v]) => v.toFixed(0));
  t.diagnostic(
    `rss ${rssAt300.toFixed(1)} MB at step 300, ${rssEnd.toFixed(1)} MB at step ${STEPS} ` +
      `(${(growth * 100).toFixed(2)}%; V8 heap ${heapAt300.toFixed(1)} -> ${heapEnd.toFixed(1)} MB); ` +
      `every 100 steps: ${samples.join(' ')}`,
  );
  assert.ok(
    growth < 0.05,
    `resident memory grew ${(growth * 100).toFixed(1)}% between step 300 (${rssAt300.toFixed(1)} MB) ` +
      `and step ${STEPS} (${rssEnd.toFixed(1)} MB)`,
  );
  // It trained (on 4 memorizable batches the loss falls).
  const first = losses.slice(0, 20).reduce((a, b) => a + b) / 20;
  const last = losses.slice(-20).reduce((a, b) => a + b) / 20;
  assert.ok(last < first, `loss went from ${first} to ${last}`);

  model.dispose();
  optimizer.dispose();
  for (const { x, y } of batches) {
    x.dispose();
    y.dispose();
  }
  assert.equal(handles(), base);
});

test('tensors nobody disposes are reclaimed by the garbage collector', async (t) => {
  await settle();
  const base = handles();
  const rss0 = rssMb();
  let peak = rss0;
  // 400 iterations, each leaving 2 MB of tensors behind (1 MB input, 1 MB result): 800 MB if
  // nothing were reclaimed. The addon reports tensor bytes to V8, which collects accordingly.
  for (let i = 0; i < 400; i++) {
    const t = torch.zeros([256, 1024]);
    const u = t.add(i);
    assert.equal(u.sum().item(), i * 256 * 1024);
    if (i % 10 === 0) {
      await nextMacrotask();
      peak = Math.max(peak, rssMb());
    }
  }
  t.diagnostic(`rss peak +${(peak - rss0).toFixed(0)} MB while dropping 800 MB of tensors`);
  assert.ok(peak - rss0 < 300, `resident memory grew by ${(peak - rss0).toFixed(0)} MB while leaking 800 MB of unreferenced tensors`);
  await settle();
  assert.ok(handles() <= base + 2, `after collection ${handles() - base} forgotten handles remain`);
  assert.ok(torch.memoryStats().bytes < 4 << 20, `after collection ${torch.memoryStats().bytes} bytes of tensors remain`);
});

test('V8 is told the memory of tensors no scope frees, and not of those a tidy frees', () => {
  // The bytes the addon told V8 of (napi_adjust_external_memory; process.memoryUsage() does not show them).
  const external = () => torch.memoryStats().collectorBytes / 2 ** 20;
  const mb64 = [16, 1024, 1024]; // 64 MiB of float32
  // A step's scoped tensors: freed by tidy, so V8 must not count them (it collected every few tens of ms).
  const before = external();
  let during = 0;
  torch.tidy(() => {
    torch.zeros(mb64);
    during = external();
  });
  assert.ok(during - before < 8, `a scoped 64 MiB tensor raised V8's external memory by ${(during - before).toFixed(1)} MiB`);
  // Unscoped: at creation, when kept, and when it leaves the outermost tidy; taken back on dispose.
  const cases: [string, () => Tensor][] = [
    ['created outside any scope', () => torch.zeros(mb64)],
    ['kept inside a tidy', () => torch.tidy(() => torch.keep(torch.zeros(mb64)))],
    ['returned from the outermost tidy', () => torch.tidy(() => torch.zeros(mb64))],
  ];
  for (const [what, make] of cases) {
    const b = external();
    const t = make();
    const grown = external() - b;
    assert.ok(grown > 60 && grown < 72, `${what}: V8's external memory grew by ${grown.toFixed(1)} MiB, expected 64`);
    t.dispose();
    assert.ok(Math.abs(external() - b) < 4, `${what}: after dispose V8's external memory is ${(external() - b).toFixed(1)} MiB off`);
  }
  // A tensor returned from a nested tidy belongs to the outer scope: still not V8's business.
  const b = external();
  torch.tidy(() => {
    torch.tidy(() => torch.zeros(mb64));
    assert.ok(external() - b < 8, 'a tensor returned to an enclosing scope was reported to V8');
  });
});
