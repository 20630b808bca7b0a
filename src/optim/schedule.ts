// Learning-rate schedules as plain functions of the epoch (0-based): the trainer sets
// `optimizer.lr = schedule(epoch)` before each epoch, which keeps resuming trivial.

export type Schedule = (epoch: number) => number;

export function constantLr(lr: number): Schedule {
  return () => lr;
}

/** lr * gamma^(number of milestones <= epoch), as torch's MultiStepLR stepped once per epoch. */
export function multiStepLr(lr: number, milestones: number[], gamma = 0.1): Schedule {
  return (epoch) => lr * gamma ** milestones.filter((m) => m <= epoch).length;
}

/** Piecewise constant: values[i] from milestones[i-1] on (values has one more entry than milestones). */
export function piecewiseLr(values: number[], milestones: number[]): Schedule {
  if (values.length !== milestones.length + 1) throw new RangeError('piecewiseLr: need one more value than milestones');
  return (epoch) => values[milestones.filter((m) => m <= epoch).length]!;
}

/** Cosine annealing from lr to minLr over `epochs`, as CosineAnnealingLR with T_max = epochs. */
export function cosineLr(lr: number, epochs: number, minLr = 0): Schedule {
  return (epoch) => minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * Math.min(epoch, epochs)) / epochs))) / 2;
}
