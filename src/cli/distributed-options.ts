// The data-parallel options of `low train` and `low compare`, and how a command joins its process
// group: under torchrun (or `--nproc`'s own launcher) the environment names the rank and the
// rendezvous; with `--nproc N` and no such environment the command launches its N ranks itself.
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { positiveInt, type IntLimit } from './options.js';
import type { DataParallel } from '../distributed/data-parallel.js';

/** Processes of one run: beyond the cores they only wait for each other. */
export const NPROC_LIMIT: IntLimit = { max: 1024, why: 'each process is a rank of one run' };

export interface DistributedCliOptions {
  nproc?: number;
  /** Seconds. */
  distTimeout?: number;
  syncBn?: boolean;
  threads?: number;
}

export function addDistributedOptions(cmd: Command): Command {
  return cmd
    .option(
      '--nproc <n>',
      'train each run data-parallel on n local processes (c10d, Gloo); under torchrun the environment sets the ranks instead',
      positiveInt('--nproc', NPROC_LIMIT),
    )
    .option('--sync-bn', "with --nproc: batch norm over the global batch (SyncBatchNorm) instead of per process (DDP's default)")
    .option('--dist-timeout <s>', 'seconds a process waits for the others in a collective before failing (default 300)', seconds);
}

function seconds(text: string): number {
  const v = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(v > 0) || v > 86_400)
    throw new InvalidArgumentError(`--dist-timeout: expected seconds, a number > 0 and at most 86400, got '${text}'`);
  return v;
}

/**
 * The process group this command runs in: launched here (`launched`: the group's exit code, for
 * the launcher to exit with), joined from torchrun's environment (`parallel`), or none.
 */
export async function joinOrLaunch(
  o: DistributedCliOptions,
  command: string,
): Promise<{ launched: number | null; parallel?: DataParallel }> {
  const { ProcessGroup, DEFAULT_DIST_TIMEOUT_MS } = await import('../distributed/process-group.js');
  const timeoutMs = o.distTimeout !== undefined ? Math.round(o.distTimeout * 1000) : DEFAULT_DIST_TIMEOUT_MS;
  const fromEnv = ProcessGroup.optionsFromEnv(process.env, timeoutMs);
  if (fromEnv === null && (o.nproc ?? 1) > 1) {
    if (!ProcessGroup.available()) throw new Error(`low ${command} --nproc: ${unavailableMessage}`);
    const { launchLocal } = await import('../distributed/launch.js');
    const nproc = o.nproc!;
    // Each rank gets its share of the cores unless --threads says otherwise (it is passed on as given).
    const threads = o.threads ?? Math.max(1, Math.floor(availableParallelism() / nproc));
    const argv = withoutOption(process.argv.slice(1), '--nproc');
    if (o.threads === undefined) argv.push('--threads', String(threads));
    return { launched: await launchLocal({ nproc, argv, timeoutMs }) };
  }
  if (fromEnv === null || fromEnv.worldSize === 1) return { launched: null };
  if (!ProcessGroup.available()) throw new Error(`low ${command} (WORLD_SIZE=${fromEnv.worldSize}): ${unavailableMessage}`);
  const { DataParallel } = await import('../distributed/data-parallel.js');
  return { launched: null, parallel: new DataParallel(ProcessGroup.init(fromEnv), { syncBatchNorm: o.syncBn }) };
}

const unavailableMessage =
  "the native addon was built without c10d's Gloo backend: install Debian's libgloo-dev (bash scripts/setup.sh does) and rebuild with node native/build.mjs";

/** argv without `--name value` / `--name=value`. */
export function withoutOption(argv: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === name) {
      i++;
      continue;
    }
    if (a.startsWith(`${name}=`)) continue;
    out.push(a);
  }
  return out;
}
