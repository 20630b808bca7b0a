// node --import tsx scripts/bench/solver.ts [--json] [--python PATH] [--repeats N]
import { benchSolver } from '../../src/bench/solver.js';

const args = process.argv.slice(2);
const flagValue = (flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const repeats = flagValue('--repeats');

await benchSolver({
  json: args.includes('--json'),
  python: flagValue('--python'),
  repeats: repeats === undefined ? undefined : Number(repeats),
});
