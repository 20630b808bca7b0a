// low-ts and PyTorch, both ways, checked against PyTorch itself (Debian's /usr/bin/python3 with
// python3-torch and python3-torchvision; skipped with the reason when it is absent):
//  - a model scripted in Python trains in low-ts step for step as in PyTorch;
//  - `low train --model net.pt` trains it with LOW, and `low export --torchscript` gives it back;
//  - built-in models exported as TorchScript and as state dicts compute in PyTorch what they
//    compute in low-ts (LeNet-5 through the command line; ResNet-18, DenseNet-161 against
//    torchvision, WRN-28-2 and DenseNet-BC against the reference ports in scripts/bench);
//  - torch.save state dicts load directly (torchvision's ResNet-18, with and without the
//    nn.DataParallel prefix), and foreign files are refused with what they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/torch/index.js';
import { SGD } from '../src/optim/index.js';
import { createModel, loadPretrained, loadTorchScript, stateDictBytes, torchScriptBytes, ResNet18 } from '../src/models/index.js';
import { readRunFolder } from '../src/analysis/run-folder.js';
import { loadRunModel } from '../src/analysis/run-model.js';
import { runCli, writeTinyMnist } from './bad-input-harness.js';

const PYTHON = '/usr/bin/python3';
const REFERENCE_MODELS = fileURLToPath(new URL('../scripts/bench', import.meta.url));
const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
const noTorch =
  probe.status === 0
    ? false
    : `${PYTHON} cannot import torch and torchvision (apt-get install python3-torch python3-torchvision): ` +
      `${(probe.error?.message ?? probe.stderr ?? '').trim().split('\n').pop()}`;

/** Runs Python `code` with `args` (sys.argv[1:]); the reference ports importable as reference_models. */
function python(code: string, ...args: string[]): string {
  // From a file: torch.jit.script reads the source of the classes it compiles.
  const dir = mkdtempSync(join(tmpdir(), 'low-interop-py-'));
  const file = join(dir, 'script.py');
  writeFileSync(file, code);
  const r = spawnSync(PYTHON, [file, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: REFERENCE_MODELS, OMP_NUM_THREADS: '1' },
  });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 0, `python failed:\n${r.stderr}`);
  return r.stdout;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(Number(a[i]) - Number(b[i])));
  return m;
}

function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'low-interop-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Eval-mode outputs of `model` on the float32 images in `file` ([N, C, H, W] raw little-endian). */
function outputsOn(model: { eval(): unknown; forward(x: torch.Tensor): torch.Tensor }, file: string, shape: number[]): Float32Array {
  const x = new Float32Array(new Uint8Array(readFileSync(file)).buffer);
  model.eval();
  return torch.tidy(() => torch.noGrad(() => model.forward(torch.tensor(x, { shape })).toFloat32Array()));
}

const SCRIPTED_NET = `
import sys, torch
import torch.nn.functional as F
torch.manual_seed(0)
class Net(torch.nn.Module):
    def __init__(self, classes: int):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4 * 13 * 13, classes)
    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        return self.fc(torch.flatten(x, 1))
`;

test('a model scripted in Python trains 3 SGD steps in low-ts as in PyTorch (parameters and BN statistics within 1e-5)', {
  skip: noTorch,
}, () => {
  const t = tempDir();
  try {
    python(
      `${SCRIPTED_NET}
out = sys.argv[1]
net = Net(3)
torch.jit.script(net).save(out + '/net.pt')
x = torch.randn(3, 8, 1, 28, 28)
y = torch.randint(0, 3, (3, 8))
torch.save({'x': x, 'y': y}, out + '/data.pt')
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
for i in range(3):
    opt.zero_grad()
    F.cross_entropy(net(x[i]), y[i]).backward()
    opt.step()
torch.save(net.state_dict(), out + '/after.pt')
`,
      t.dir,
    );
    const model = loadTorchScript(join(t.dir, 'net.pt'), { inputShape: [1, 28, 28], numClasses: 3 });
    assert.deepEqual(
      model.namedParameters().map(([n]) => n),
      ['conv.weight', 'conv.bias', 'bn.weight', 'bn.bias', 'fc.weight', 'fc.bias'],
    );
    assert.deepEqual(
      model.namedBuffers().map(([n]) => n),
      ['bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked'],
    );
    const data = torch.loadTorchSave(join(t.dir, 'data.pt'));
    const x = data.get('x')!;
    const y = data.get('y')!;
    const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 });
    model.train();
    for (let i = 0; i < 3; i++) {
      torch.tidy(() => {
        optimizer.zeroGrad();
        torch.F.crossEntropy(model.forward(x.select(0, i)), y.select(0, i)).backward();
        optimizer.step();
      });
    }
    const expected = torch.loadTorchSave(join(t.dir, 'after.pt'));
    const got = model.stateDict();
    assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
    for (const [name, want] of expected) {
      const d = maxAbsDiff(got.get(name)!.to('float64').toFloat64Array(), want.to('float64').toFloat64Array());
      assert.ok(d < 1e-5, `${name} differs from PyTorch's by ${d}`);
    }
    assert.equal(got.get('bn.num_batches_tracked')!.item(), 3);

    model.dispose();

    // functionalForward on a fresh copy, in training mode: the forward at substituted parameters,
    // differentiable through them (through batch norm too), and the module's own weights and
    // running statistics left as they were.
    const fresh = loadTorchScript(join(t.dir, 'net.pt')).train();
    const w = fresh.stateDict().get('conv.weight')!;
    const input = x.select(0, 0);
    const r = torch.randn([8, 3]);
    const snapshot = () => [...fresh.stateDict()].map(([n, v]) => [n, Array.from(v.to('float64').toFloat64Array())] as const);
    const before = snapshot();
    const substituted = torch.tidy(() => {
      const doubled = w.mul(2).detach();
      doubled.requiresGrad = true;
      const out = fresh.functionalForward(new Map([['conv.weight', doubled]]), input);
      return { out: out.toFloat32Array(), grad: torch.grad([out.mul(r).sum()], [doubled])[0]!.toFloat32Array() };
    });
    for (const [n, v] of before) assert.equal(maxAbsDiff(fresh.stateDict().get(n)!.to('float64').toFloat64Array(), v), 0, `${n} changed`);
    const direct = torch.tidy(() => {
      torch.noGrad(() => w.mul_(2));
      const out = fresh.forward(input);
      return { out: out.toFloat32Array(), grad: torch.grad([out.mul(r).sum()], [w])[0]!.toFloat32Array() };
    });
    assert.ok(maxAbsDiff(substituted.out, direct.out) < 1e-6, 'substituted forward = forward at those weights');
    const scale = Math.max(...Array.from(direct.grad, Math.abs));
    assert.ok(scale > 0 && maxAbsDiff(substituted.grad, direct.grad) < 1e-5 * scale, 'the gradient reaches the substituted tensor');
    fresh.dispose();
  } finally {
    t.remove();
  }
});

test('low train --model net.pt (TorchScript) with LOW, then low export --torchscript: PyTorch runs the trained model', {
  skip: noTorch,
}, async () => {
  const t = tempDir();
  try {
    writeTinyMnist(join(t.dir, 'data'), 64, 16);
    python(`${SCRIPTED_NET}\ntorch.jit.script(Net(10)).save(sys.argv[1])`, join(t.dir, 'net.pt'));
    const common = ['--dataset', 'mnist', '--data-dir', join(t.dir, 'data'), '--batch-size', '16', '--threads', '1', '--quiet'];
    const run = join(t.dir, 'run');
    const train = await runCli(
      ['train', ...common, '--model', join(t.dir, 'net.pt'), '--strategy', 'low:lambda=0.1', '--epochs', '2', '--out', run],
      {
        cwd: t.dir,
      },
    );
    assert.equal(train.code, 0, train.stderr);
    const exported = join(t.dir, 'trained.pt');
    const exp = await runCli(['export', run, '--torchscript', exported], { cwd: t.dir });
    assert.equal(exp.code, 0, exp.stderr);
    assert.match(exp.stdout, /TorchScript of .*net\.pt \(epoch 2 of 2\)/);

    writeFileSync(join(t.dir, 'x.bin'), Buffer.from(torch.rand([5, 1, 28, 28]).toFloat32Array().buffer));
    const out = python(
      `import sys, torch, numpy as np
m = torch.jit.load(sys.argv[1]).eval()
x = torch.from_numpy(np.fromfile(sys.argv[2], dtype=np.float32).reshape(5, 1, 28, 28))
with torch.no_grad():
    print(' '.join(repr(v) for v in m(x).flatten().tolist()))`,
      exported,
      join(t.dir, 'x.bin'),
    );
    const theirs = out.trim().split(' ').map(Number);
    const model = await loadRunModel(readRunFolder(run), [1, 28, 28], 10);
    const ours = outputsOn(model, join(t.dir, 'x.bin'), [5, 1, 28, 28]);
    assert.ok(maxAbsDiff(ours, theirs) < 1e-5, `outputs differ by ${maxAbsDiff(ours, theirs)}`);
    // Trained: the weights moved from the file's.
    const initial = loadTorchScript(join(t.dir, 'net.pt'));
    assert.ok(
      maxAbsDiff(initial.stateDict().get('fc.weight')!.toFloat32Array(), model.stateDict().get('fc.weight')!.toFloat32Array()) > 1e-4,
    );
    initial.dispose();
    model.dispose();
  } finally {
    t.remove();
  }
});

test('a low-ts LeNet-5 exported with --state-dict and with --torchscript gives the same outputs in PyTorch', {
  skip: noTorch,
}, async () => {
  const t = tempDir();
  try {
    writeTinyMnist(join(t.dir, 'data'), 64, 16);
    const run = join(t.dir, 'run');
    const train = await runCli(
      [
        'train',
        '--dataset',
        'mnist',
        '--data-dir',
        join(t.dir, 'data'),
        '--model',
        'lenet5',
        '--epochs',
        '1',
        '--batch-size',
        '16',
        '--threads',
        '1',
        '--quiet',
        '--out',
        run,
      ],
      { cwd: t.dir },
    );
    assert.equal(train.code, 0, train.stderr);
    const ts = join(t.dir, 'lenet.torchscript.pt');
    const sd = join(t.dir, 'lenet.state.pt');
    const exp = await runCli(['export', run, '--torchscript', ts, '--state-dict', sd], { cwd: t.dir });
    assert.equal(exp.code, 0, exp.stderr);
    // A batch size other than the trace's (2): the traced file must not have it baked in.
    writeFileSync(join(t.dir, 'x.bin'), Buffer.from(torch.rand([7, 1, 28, 28]).toFloat32Array().buffer));
    const out = python(
      `import sys, torch, numpy as np
from reference_models import LeNet5
x = torch.from_numpy(np.fromfile(sys.argv[3], dtype=np.float32).reshape(7, 1, 28, 28))
net = LeNet5(10)
net.load_state_dict(torch.load(sys.argv[2]), strict=True)
scripted = torch.jit.load(sys.argv[1])
with torch.no_grad():
    for y in (scripted(x), net.eval()(x)):
        print(' '.join(repr(v) for v in y.flatten().tolist()))`,
      ts,
      sd,
      join(t.dir, 'x.bin'),
    );
    const [fromTorchScript, fromStateDict] = out
      .trim()
      .split('\n')
      .map((l) => l.split(' ').map(Number));
    const model = await loadRunModel(readRunFolder(run), [1, 28, 28], 10);
    const ours = outputsOn(model, join(t.dir, 'x.bin'), [7, 1, 28, 28]);
    assert.ok(maxAbsDiff(ours, fromTorchScript!) < 1e-5, `TorchScript outputs differ by ${maxAbsDiff(ours, fromTorchScript!)}`);
    assert.ok(maxAbsDiff(ours, fromStateDict!) < 1e-5, `state-dict outputs differ by ${maxAbsDiff(ours, fromStateDict!)}`);
    model.dispose();
  } finally {
    t.remove();
  }
});

test('state dicts of resnet18 and densenet161 load into torchvision, of wrn-28-2 and densenet-bc into the reference ports, with the same outputs', {
  skip: noTorch,
}, () => {
  const t = tempDir();
  try {
    const cases = [
      { name: 'resnet18', python: 'torchvision.models.resnet18(num_classes=7)', shape: [2, 3, 64, 64] },
      { name: 'densenet161', python: 'torchvision.models.densenet161(num_classes=7)', shape: [1, 3, 64, 64] },
      { name: 'wrn-28-2', python: 'reference_models.WideResNet(28, num_classes=7, widen_factor=2)', shape: [2, 3, 32, 32] },
      { name: 'densenet-bc', python: 'reference_models.DenseNet3(100, num_classes=7, growth_rate=12)', shape: [2, 3, 32, 32] },
    ];
    for (const c of cases) {
      torch.manualSeed(3);
      const model = createModel(c.name, { numClasses: 7 });
      // Batch statistics that are not 0 and 1, so that a buffer lost on the way shows in the outputs.
      torch.noGrad(() => {
        for (const [n, b] of model.namedBuffers()) {
          if (n.endsWith('running_mean')) b.copy_(torch.randn(b.shape).mul(0.1));
          if (n.endsWith('running_var')) b.copy_(torch.rand(b.shape).add(0.5));
        }
      });
      const file = join(t.dir, `${c.name}.pt`);
      writeFileSync(file, stateDictBytes(model));
      const x = join(t.dir, `${c.name}.x.bin`);
      writeFileSync(x, Buffer.from(torch.rand(c.shape).toFloat32Array().buffer));
      const out = python(
        `import sys, torch, torchvision, numpy as np, reference_models
net = ${c.python}
net.load_state_dict(torch.load(sys.argv[1]), strict=True)
x = torch.from_numpy(np.fromfile(sys.argv[2], dtype=np.float32).reshape(${c.shape.join(', ')}))
with torch.no_grad():
    print(' '.join(repr(v) for v in net.eval()(x).flatten().tolist()))`,
        file,
        x,
      );
      const ours = outputsOn(model, x, c.shape);
      const d = maxAbsDiff(ours, out.trim().split(' ').map(Number));
      assert.ok(d < 1e-4, `${c.name}: outputs differ from PyTorch's by ${d}`);
      model.dispose();
    }
  } finally {
    t.remove();
  }
});

test("torchvision's resnet18 state dict saved by torch.save loads directly and matches torchvision's outputs", { skip: noTorch }, () => {
  const t = tempDir();
  try {
    python(
      `import sys, torch, torchvision
torch.manual_seed(4)
net = torchvision.models.resnet18(num_classes=5)
with torch.no_grad():
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1); m.running_var.uniform_(0.5, 1.5); m.weight.uniform_(0.5, 1.5); m.bias.normal_(0, 0.1)
out = sys.argv[1]
torch.save(net.state_dict(), out + '/resnet18.pth')
torch.save({'epoch': 3, 'state_dict': torch.nn.DataParallel(net).state_dict()}, out + '/checkpoint.pth')
net.eval()
x = torch.rand(2, 3, 64, 64)
x.numpy().tofile(out + '/x.bin')
with torch.no_grad():
    net(x).numpy().tofile(out + '/y.bin')
# Then in half precision: the file holds float16 tensors, the reference is the rounded weights in float32.
torch.save(net.half().state_dict(), out + '/resnet18-fp16.pth')
with torch.no_grad():
    net.float()(x).numpy().tofile(out + '/y16.bin')`,
      t.dir,
    );
    const y = new Float32Array(new Uint8Array(readFileSync(join(t.dir, 'y.bin'))).buffer);
    const y16 = new Float32Array(new Uint8Array(readFileSync(join(t.dir, 'y16.bin'))).buffer);
    for (const [file, want, tol] of [
      ['resnet18.pth', y, 1e-4],
      ['checkpoint.pth', y, 1e-4],
      ['resnet18-fp16.pth', y16, 1e-4],
    ] as const) {
      const model = new ResNet18({ numClasses: 5 });
      const report = loadPretrained(model, join(t.dir, file));
      assert.equal(report.loaded.length, model.stateDict().size, `${file}: every tensor loaded`);
      const d = maxAbsDiff(outputsOn(model, join(t.dir, 'x.bin'), [2, 3, 64, 64]), want);
      assert.ok(d < tol, `${file}: outputs differ from torchvision's by ${d}`);
      if (file === 'checkpoint.pth') assert.equal((report.metadata as { strippedModulePrefix: boolean }).strippedModulePrefix, true);
      model.dispose();
    }
  } finally {
    t.remove();
  }
});

test('foreign and damaged PyTorch files are refused with what they are', { skip: noTorch }, () => {
  const t = tempDir();
  try {
    python(
      `${SCRIPTED_NET}
out = sys.argv[1]
net = Net(10)
torch.save(net, out + '/whole-module.pt')
torch.save(net.state_dict(), out + '/legacy.pt', _use_new_zipfile_serialization=False)
torch.save(net.state_dict(), out + '/state.pt')
torch.save([1, 2, 3], out + '/list.pt')
torch.save({'lr': 0.1, 'epoch': 3}, out + '/no-tensors.pt')
torch.jit.script(net).save(out + '/net.pt')
torch.jit.script(Net(3)).save(out + '/three.pt')`,
      t.dir,
    );
    const f = (name: string) => join(t.dir, name);
    const model = () => createModel('lenet5');
    assert.throws(
      () => loadPretrained(model(), f('whole-module.pt')),
      /whole-module\.pt: .*Python object of class __main__\.Net.*state_dict/,
    );
    assert.throws(() => loadPretrained(model(), f('legacy.pt')), /legacy\.pt: .*before PyTorch 1\.6/);
    assert.throws(() => loadPretrained(model(), f('list.pt')), /list\.pt: holds a list or tuple, expected a state dict/);
    assert.throws(() => loadPretrained(model(), f('no-tensors.pt')), /no-tensors\.pt: holds a dict \(keys lr, epoch\)/);
    assert.throws(() => loadPretrained(model(), f('net.pt')), /net\.pt: a TorchScript module, not a state dict/);
    assert.throws(() => loadPretrained(model(), f('state.pt')), /state\.pt does not fit the model: .*missing from the file: conv1\.weight/);
    assert.throws(() => loadTorchScript(f('state.pt')), /state\.pt: a torch\.save file \(a state dict\?\), not TorchScript/);
    assert.throws(() => loadTorchScript(f('legacy.pt')), /legacy\.pt: a pickle .*not TorchScript/);
    assert.throws(
      () => loadTorchScript(f('three.pt'), { inputShape: [1, 28, 28], numClasses: 10 }),
      /three\.pt: its forward maps a batch of shape \[2, 1, 28, 28\] to \[2, 3\], expected \[2, 10\]/,
    );
    assert.throws(
      () => loadTorchScript(f('net.pt'), { inputShape: [3, 32, 32], numClasses: 10 }),
      /net\.pt: its forward fails on a batch of images of shape \[2, 3, 32, 32\]/,
    );
    // A flipped byte in a weight: the archive's CRC-32 catches it.
    const bytes = readFileSync(f('state.pt'));
    const at = Math.floor(bytes.length / 2); // inside the largest storage, fc.weight
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(f('flipped.pt'), bytes);
    assert.throws(() => loadPretrained(model(), f('flipped.pt')), /flipped\.pt: .*(CRC-32 does not match|damaged)/);
    writeFileSync(f('half.pt'), readFileSync(f('net.pt')).subarray(0, 3000));
    assert.throws(() => loadTorchScript(f('half.pt')), /half\.pt: not a complete zip archive/);
  } finally {
    t.remove();
  }
});

test('torchScriptBytes of a built-in model traces its eval-mode forward: BN statistics as attributes, not constants', () => {
  // Without Python: the traced file loads back here, reads its buffers as attributes (changing them
  // changes the output) and computes what the model computes.
  const t = tempDir();
  try {
    torch.manualSeed(5);
    const model = createModel('resnet18-cifar', { numClasses: 4 });
    const file = join(t.dir, 'r.pt');
    writeFileSync(file, torchScriptBytes(model, [3, 16, 16]));
    const back = loadTorchScript(file, { inputShape: [3, 16, 16], numClasses: 4 });
    assert.deepEqual([...back.stateDict().keys()].sort(), [...model.stateDict().keys()].sort());
    const x = torch.rand([3, 3, 16, 16]);
    const run = (m: typeof model) => torch.tidy(() => torch.noGrad(() => m.eval().forward(x).toFloat32Array()));
    assert.ok(maxAbsDiff(run(model), run(back)) < 1e-5);
    torch.noGrad(() => back.stateDict().get('bn1.running_mean')!.fill_(1));
    assert.ok(maxAbsDiff(run(model), run(back)) > 1e-3, 'the running mean is read from the module');
    back.dispose();
    model.dispose();
  } finally {
    t.remove();
  }
});
