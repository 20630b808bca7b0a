// `low mentornet pretrain|eval|export`: learn a MentorNet-DD from a run trained with injected label
// noise, measure how well a mentor separates clean from noisy samples on another run, and take the
// mentor a run fine-tuned (mentornet:finetune=1) out of its checkpoint.
import { Command } from 'commander';
import { dirname } from 'node:path';
import { checkOutputFile, makeOutputFolder, withOutputErrors } from '../io/output-path.js';
import {
  BATCH_LIMIT,
  nonNegativeInt,
  openFraction,
  positiveInt,
  positiveNumber,
  probability,
  threadCount,
  type IntLimit,
} from './options.js';

/** The mentor is a small network on a few features per example: sizes beyond these only exhaust memory. */
const LAYER_LIMIT: IntLimit = { max: 4096, why: "a mentor's layers are small; larger ones only exhaust memory" };
const WINDOW_LIMIT: IntLimit = { max: 1000, why: 'epochs of loss history; each adds three features per example' };

/** Saves a mentor file to the checked `--out`, creating its folder. */
function writeMentor(out: string, save: () => void): void {
  makeOutputFolder('--out', dirname(out));
  withOutputErrors('--out', out, save);
}

const pct = (x: number) => (Number.isNaN(x) ? '  -  ' : x.toFixed(4));

export function mentornetCommand(): Command {
  const cmd = new Command('mentornet').description(
    'MentorNet-DD: pretrain a mentor from a noisy run, evaluate it on another run, export a fine-tuned one. ' +
      'Train with it: low train --strategy mentornet[:finetune=1] --mentor FILE.',
  );

  cmd
    .command('pretrain')
    .description(
      'Learn a mentor from a run folder trained with --noise (clean samples -> weight 1, noisy -> 0), ' +
        'from every (sample, epoch) of its loss history; ' +
        "prints the training loss and the train / held-out ROC AUC of the mentor's weights (clean vs noisy) per epoch.",
    )
    .requiredOption('--from <dir>', 'run folder trained with --noise (has samples.lowt and checkpoint.lowt)')
    .requiredOption('--out <file>', 'mentor file to write (e.g. mentor.lowt)')
    .option('--epochs <n>', 'passes over the examples', positiveInt('--epochs'), 5)
    .option('--lr <x>', 'Adam learning rate', positiveNumber('--lr'), 0.01)
    .option('--batch-size <n>', 'examples per step', positiveInt('--batch-size', BATCH_LIMIT), 256)
    .option('--window <n>', 'epochs of loss history the LSTM reads, the current one included', positiveInt('--window', WINDOW_LIMIT), 5)
    .option('--buckets <n>', 'slices of training the progress embedding distinguishes', positiveInt('--buckets', LAYER_LIMIT), 10)
    .option('--lstm-hidden <n>', 'hidden units of each LSTM direction', positiveInt('--lstm-hidden', LAYER_LIMIT), 4)
    .option('--fc-hidden <n>', 'hidden units of the fully connected layer', positiveInt('--fc-hidden', LAYER_LIMIT), 20)
    .option('--label-embedding <n>', 'label embedding size (0: ignore labels)', nonNegativeInt('--label-embedding', LAYER_LIMIT), 2)
    .option('--epoch-embedding <n>', 'progress embedding size', positiveInt('--epoch-embedding', LAYER_LIMIT), 5)
    .option('--percentile <p>', 'loss percentile the loss difference is taken against', probability('--percentile'), 0.7)
    .option('--held-out <f>', 'fraction of samples held out for the AUC', openFraction('--held-out'), 0.2)
    .option('--seed <n>', 'seed (split, initialisation, order)', nonNegativeInt('--seed'), 0)
    .option('--threads <n>', 'intra-op threads', threadCount('--threads'))
    .option('--json', 'print the report as JSON')
    .action(async (o: PretrainCli) => {
      checkOutputFile('--out', o.out, { inputs: [o.from] });
      const torch = await import('../torch/index.js');
      if (o.threads) torch.setNumThreads(o.threads);
      const { readNoisyRun, pretrainMentor } = await import('../mentornet/pretrain.js');
      const { saveMentor } = await import('../mentornet/mentor-network.js');
      const run = readNoisyRun(o.from);
      const log = o.json ? () => {} : (s: string) => console.log(s);
      log(
        `run ${o.from}: ${run.samples} samples, ${run.completed}/${run.epochs} epochs, ` +
          `${((100 * run.isNoisy.reduce((a, b) => a + b, 0)) / run.samples).toFixed(1)} % noisy, ` +
          `${run.numClasses} classes (model ${run.config.model ?? '?'})`,
      );
      const result = pretrainMentor(run, {
        architecture: {
          window: o.window,
          buckets: o.buckets,
          lstmHidden: o.lstmHidden,
          fcHidden: o.fcHidden,
          labelEmbedding: o.labelEmbedding,
          epochEmbedding: o.epochEmbedding,
        },
        percentile: o.percentile,
        heldOut: o.heldOut,
        epochs: o.epochs,
        batchSize: o.batchSize,
        lr: o.lr,
        seed: o.seed,
        onEpoch: (e) =>
          log(
            `epoch ${e.epoch}: BCE ${e.loss.toFixed(4)}  AUC train ${pct(e.trainAuc)}  ` +
              `held-out ${pct(e.heldOutAuc)}  (${e.seconds.toFixed(1)} s)`,
          ),
      });
      const last = result.epochs[result.epochs.length - 1]!;
      const report = {
        from: o.from,
        studentModel: run.config.model,
        dataset: run.config.dataset,
        noise: run.config.noise,
        studentSeed: run.config.seed,
        studentEpochs: run.epochs,
        samples: { train: result.trainSamples, heldOut: result.heldOutSamples },
        examples: { train: result.trainExamples, heldOut: result.heldOutExamples },
        optimizer: { name: 'adam', lr: o.lr, batchSize: o.batchSize, epochs: o.epochs, seed: o.seed },
        trainAuc: last.trainAuc,
        heldOutAuc: last.heldOutAuc,
        heldOutAucByStudentEpoch: result.heldOutAucByEpoch,
        heldOutLossAuc: result.heldOutLossAuc,
        history: result.epochs,
      };
      writeMentor(o.out, () => saveMentor(o.out, result.model, { percentile: result.percentile, pretraining: report }));
      result.model.dispose();
      if (o.json) console.log(JSON.stringify(report, null, 2));
      else {
        log(`held-out AUC by student epoch: ${result.heldOutAucByEpoch.map(pct).join(' ')}`);
        log(`for comparison, held-out AUC of the loss alone (lower loss = clean): ${pct(result.heldOutLossAuc)}`);
        log(`wrote ${o.out}`);
      }
    });

  cmd
    .command('eval')
    .description(
      "ROC AUC of a mentor's weights for separating clean from noisy samples on a run folder trained with --noise: " +
        "the mentor applied to the run's loss history " +
        '(every sample and epoch), and, when the run was trained with a weighting strategy, the AUC of the weights it actually gave.',
    )
    .requiredOption('--mentor <file>', 'mentor file')
    .requiredOption('--from <dir>', 'run folder trained with --noise')
    .option('--json', 'print the result as JSON')
    .action(async (o: { mentor: string; from: string; json?: boolean }) => {
      const { readNoisyRun, evaluateMentorOnRun } = await import('../mentornet/pretrain.js');
      const { loadMentor } = await import('../mentornet/mentor-network.js');
      const { model, metadata } = loadMentor(o.mentor);
      const run = readNoisyRun(o.from);
      const r = evaluateMentorOnRun(model, metadata.percentile, run);
      model.dispose();
      if (o.json) {
        console.log(
          JSON.stringify({ mentor: o.mentor, from: o.from, studentModel: run.config.model, strategy: run.config.strategy, ...r }, null, 2),
        );
        return;
      }
      console.log(
        `run ${o.from} (model ${run.config.model ?? '?'}, strategy ${run.config.strategy ?? '?'}): ` +
          `${r.examples} (sample, epoch) pairs, ${(100 * r.noisyFraction).toFixed(1)} % noisy samples`,
      );
      console.log(`mentor on the run's loss history: AUC ${pct(r.auc)} over all pairs; by epoch ${r.aucByEpoch.map(pct).join(' ')}`);
      console.log(
        `the loss alone (lower = clean):     AUC ${pct(r.lossAuc)} over all pairs; by epoch ${r.lossAucByEpoch.map(pct).join(' ')}`,
      );
      if (r.recordedAucByEpoch)
        console.log(`weights the run gave (its own strategy), AUC by epoch: ${r.recordedAucByEpoch.map(pct).join(' ')}`);
    });
  cmd
    .command('export')
    .description(
      'Write the mentor as fine-tuned by a run trained with --strategy mentornet:finetune=1 ' +
        '(up to its last checkpoint) to a mentor file, ' +
        "for `low mentornet eval` or another run; prints its fine-tuning loss before and after each epoch's round.",
    )
    .requiredOption('--from <dir>', 'run folder trained with mentornet:finetune=1')
    .requiredOption('--out <file>', 'mentor file to write')
    .action(async (o: { from: string; out: string }) => {
      checkOutputFile('--out', o.out, { inputs: [o.from] });
      const { readFineTunedMentor } = await import('../mentornet/finetune.js');
      const { saveMentor } = await import('../mentornet/mentor-network.js');
      const { model, metadata, rounds, epochs } = readFineTunedMentor(o.from);
      const fineTuning = { from: o.from, epochs, rounds };
      writeMentor(o.out, () =>
        saveMentor(o.out, model, { percentile: metadata.percentile, pretraining: metadata.pretraining, fineTuning }),
      );
      model.dispose();
      for (const r of rounds) console.log(`epoch ${r.epoch + 1}: ${r.examples} examples, BCE ${pct(r.lossBefore)} -> ${pct(r.lossAfter)}`);
      console.log(`wrote ${o.out}`);
    });
  return cmd;
}

interface PretrainCli {
  from: string;
  out: string;
  epochs: number;
  lr: number;
  batchSize: number;
  window: number;
  buckets: number;
  lstmHidden: number;
  fcHidden: number;
  labelEmbedding: number;
  epochEmbedding: number;
  percentile: number;
  heldOut: number;
  seed: number;
  threads?: number;
  json?: boolean;
}
