// The `low` command line: one sub-command per job, each defined in its own file.
import { Command } from 'commander';
import { benchCommand } from './bench-command.js';
import { trainCommand } from './train-command.js';
import { compareCommand } from './compare-command.js';
import { runConfigCommand } from './run-config-command.js';
import { demoCommand } from './demo-command.js';
import { reportCommand } from './report-command.js';
import { suspectsCommand } from './suspects-command.js';
import { mentornetCommand } from './mentornet-command.js';
import { exportCommand } from './export-command.js';
import { configure } from '../torch/index.js';

const program = new Command();
program
  .name('low')
  .description('Train classifiers with LOW (learned optimal sample weights) and compare it with other sample-weighting strategies.')
  .showHelpAfterError();

program.addCommand(demoCommand());
program.addCommand(trainCommand());
program.addCommand(compareCommand());
program.addCommand(reportCommand());
program.addCommand(suspectsCommand());
program.addCommand(mentornetCommand());
program.addCommand(exportCommand());
program.addCommand(runConfigCommand(), { hidden: true });
program.addCommand(benchCommand());

// The engine's process-wide defaults (all cores, the retained heap), before any command runs;
// --threads then overrides the thread count.
async function main(): Promise<void> {
  configure();
  await program.parseAsync(process.argv);
}

main().catch((e: unknown) => {
  // Errors from bad input are meant for the user: print the message, not a stack.
  console.error(`low: ${e instanceof Error ? e.message : String(e)}`);
  if (process.env.LOW_DEBUG && e instanceof Error) console.error(e.stack);
  process.exit(e instanceof Error && (e.name === 'RunInterrupted' || e.name === 'ExperimentInterrupted') ? 130 : 1);
});
