// The strategies' part of `--help`, from the registry's declarations (one line per strategy).
import { strategyDefinitions } from '../weighting/registry.js';
import { usageOf } from '../weighting/strategy-definition.js';

/** "normal | focal[:gamma=2] | ...": every registered strategy's spec with its defaults. */
export function strategyUsage(): string {
  return strategyDefinitions().map(usageOf).join(' | ');
}

/** One line per strategy: its spec and what it is, for the help's epilogue. */
export function strategyList(): string {
  return strategyDefinitions()
    .map((d) => `  ${usageOf(d)}\n      ${d.help}`)
    .join('\n');
}
