// One line per finished epoch, for logs: the terminal's progress display prints it under its bar,
// and a compare worker's worker.log holds one per epoch.
import type { MetricsRow } from './metrics-file.js';

/** "epoch 3/10: train loss 0.4123, train err 12.50%, test err 14.10%, BAcc ... (6.5 s)". */
export function epochLine(r: MetricsRow, epochs: number): string {
  // The test split's metrics, else validation's; neither on an epoch --eval-every skips.
  const split = r.test_acc !== undefined ? 'test' : r.val_acc !== undefined ? 'val' : null;
  const m = (k: 'err' | 'bacc' | 'mauc' | 'mf1') => (100 * (r[`${split!}_${k}`] ?? NaN)).toFixed(2);
  const evaluated = split ? `, ${split} err ${m('err')}%, BAcc ${m('bacc')}%, mAUC ${m('mauc')}%, mF1 ${m('mf1')}%` : '';
  return (
    `epoch ${r.epoch}/${epochs}: train loss ${r.train_loss.toFixed(4)}, ` +
    `train err ${(100 * r.train_err).toFixed(2)}%${evaluated} (${r.seconds.toFixed(1)} s)`
  );
}
