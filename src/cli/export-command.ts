// `low export`: a run's trained model out to PyTorch, as TorchScript (torch.jit.load runs it) or
// as a state dict (torch.load, then load_state_dict into the same architecture).
import { Command } from 'commander';
import { resolve } from 'node:path';
import { checkOutputFile, writeOutputFile } from '../io/output-path.js';
import { isTorchScriptPath } from '../models/torchscript.js';

interface ExportOptions {
  torchscript?: string;
  stateDict?: string;
}

export function exportCommand(): Command {
  return new Command('export')
    .description(
      "Write a run's model (the weights of its checkpoint, the last completed epoch) for PyTorch: " +
        "--torchscript as a TorchScript file that torch.jit.load runs without the model's Python class " +
        '(a built-in model is traced in evaluation mode; a TorchScript model keeps its own code), ' +
        '--state-dict as a torch.save file of its state dict, for load_state_dict on the same architecture in PyTorch ' +
        "(torchvision's names for resnet18 and densenet161, xternalz/WideResNet-pytorch's for wrn, andreasveit/densenet-pytorch's for densenet-bc).",
    )
    .argument('<run>', 'a run folder (low train --out, or runs/<strategy>/seed-<n> of an experiment)')
    .option('--torchscript <file>', 'the TorchScript file to write (.pt)')
    .option('--state-dict <file>', 'the state-dict file to write (.pt)')
    .action(async (dir: string, o: ExportOptions) => {
      if (o.torchscript === undefined && o.stateDict === undefined)
        throw new Error('export: name an output, --torchscript FILE and/or --state-dict FILE');
      const { readRunFolder } = await import('../analysis/run-folder.js');
      const run = readRunFolder(dir);
      // PyTorch's architectures end in a plain Linear layer: loaded there, a cosine classifier's
      // weights would predict otherwise, silently.
      if (o.stateDict !== undefined && run.config.head === 'cosine')
        throw new Error(
          `export --state-dict: ${dir} trained a cosine classifier (--head cosine), which ${run.config.model}'s PyTorch ` +
            'architecture does not have (its last layer is a plain Linear); use --torchscript, which keeps the normalisation',
        );
      const inputs = [dir, ...(isTorchScriptPath(run.config.model) ? [run.config.model] : [])];
      const outputs: [string, string][] = [];
      if (o.torchscript !== undefined) outputs.push(['--torchscript', checkOutputFile('--torchscript', o.torchscript, { inputs })]);
      if (o.stateDict !== undefined) outputs.push(['--state-dict', checkOutputFile('--state-dict', o.stateDict, { inputs })]);
      if (outputs.length === 2 && resolve(outputs[0]![1]) === resolve(outputs[1]![1]))
        throw new Error(`export: --torchscript and --state-dict name the same file, ${outputs[0]![1]}`);
      const samples = run.samples;
      if (!samples) throw new Error(`${dir}: no samples.lowt; is it a run folder?`);
      const shape = samples.imageShape ?? (await trainingImageShape(run.config.dataset, run.config.dataDir));
      const { loadRunModel } = await import('../analysis/run-model.js');
      const { torchScriptBytes, stateDictBytes } = await import('../models/export.js');
      const model = await loadRunModel(run, shape, samples.classNames.length);
      try {
        const epochs = `epoch ${run.completedEpochs} of ${run.config.epochs}${run.finished ? '' : ', the run is not finished'}`;
        for (const [option, file] of outputs) {
          const bytes = option === '--torchscript' ? torchScriptBytes(model, shape) : stateDictBytes(model);
          writeOutputFile(option, file, bytes);
          console.log(`${file}: ${option === '--torchscript' ? 'TorchScript' : 'state dict'} of ${run.config.model} (${epochs})`);
        }
      } finally {
        model.dispose();
      }
    });
}

/** Runs from before samples.lowt recorded the image shape: the training split's, from the dataset. */
async function trainingImageShape(dataset: string, dataDir: string | undefined): Promise<[number, number, number]> {
  const { loadDataset } = await import('../data/registry.js');
  return (await loadDataset(dataset, { split: 'train', dataDir })).shape;
}
