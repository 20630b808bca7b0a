// The one place that knows where libtorch lives: the folder named by LIBTORCH (official layout,
// CPU or CUDA), or Debian's libtorch-dev. binding.gyp asks it for flags; build.mjs for a summary.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const HOW_TO_GET =
  "libtorch was not found. Either install Debian's package (apt-get install libtorch-dev libopenblas0-openmp, " +
  'or run: bash scripts/setup.sh), or set LIBTORCH to an official libtorch folder (the one holding include/ and lib/), ' +
  'CPU or CUDA, and run npm install again.';

/**
 * Whether c10d's Gloo backend can be compiled: libtorch's c10d headers include Gloo's, which
 * Debian ships apart, in libgloo-dev (scripts/setup.sh installs it).
 */
function hasGloo(includeDirs) {
  return includeDirs.some((d) => existsSync(join(d, 'gloo', 'config.h')));
}

export function locateLibtorch() {
  const env = process.env.LIBTORCH;
  if (env) {
    const lib = join(env, 'lib');
    const include = join(env, 'include');
    if (!existsSync(join(include, 'torch', 'csrc', 'api', 'include', 'torch', 'torch.h')) || !existsSync(lib)) {
      throw new Error(
        `LIBTORCH=${env} does not look like a libtorch folder: ` +
          `expected include/torch/csrc/api/include/torch/torch.h and lib/. ${HOW_TO_GET}`,
      );
    }
    const libs = readdirSync(lib);
    const cuda = libs.some((f) => f.startsWith('libtorch_cuda.so'));
    // Official builds state their C++ ABI in TorchConfig.cmake; pre-cxx11 builds need the old ABI.
    let abi = 1;
    const cfg = join(env, 'share', 'cmake', 'Torch', 'TorchConfig.cmake');
    if (existsSync(cfg) && /_GLIBCXX_USE_CXX11_ABI=0/.test(readFileSync(cfg, 'utf8'))) abi = 0;
    return {
      source: `LIBTORCH=${env}`,
      includeDirs: [include, join(include, 'torch', 'csrc', 'api', 'include')],
      libDir: lib,
      libs: ['-ltorch', '-ltorch_cpu', '-lc10', ...(cuda ? ['-ltorch_cuda', '-lc10_cuda'] : [])],
      cxx11Abi: abi,
      cuda,
      gloo: hasGloo([include]),
    };
  }
  const debianHeader = '/usr/include/torch/csrc/api/include/torch/torch.h';
  const debianLib = '/usr/lib/x86_64-linux-gnu';
  if (existsSync(debianHeader)) {
    return {
      source: 'Debian libtorch-dev',
      includeDirs: ['/usr/include', '/usr/include/torch/csrc/api/include'],
      libDir: existsSync(join(debianLib, 'libtorch.so')) ? debianLib : '/usr/lib',
      libs: ['-ltorch', '-ltorch_cpu', '-lc10'],
      cxx11Abi: 1,
      cuda: false,
      gloo: hasGloo(['/usr/include']),
    };
  }
  throw new Error(HOW_TO_GET);
}

// Called by binding.gyp: `node native/libtorch.mjs include|libdir|libs|defines`.
if (import.meta.url === `file://${process.argv[1]}`) {
  let t;
  try {
    t = locateLibtorch();
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
  const what = process.argv[2];
  if (what === 'include') console.log(t.includeDirs.join(' '));
  else if (what === 'libdir') console.log(t.libDir);
  else if (what === 'libs') console.log(t.libs.join(' '));
  else if (what === 'defines')
    console.log(`_GLIBCXX_USE_CXX11_ABI=${t.cxx11Abi}${t.cuda ? ' LOW_WITH_CUDA=1' : ''}${t.gloo ? ' USE_C10D_GLOO=1' : ''}`);
  else console.log(JSON.stringify(t));
}
