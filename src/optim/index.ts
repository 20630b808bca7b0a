export type { Optimizer } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export * from './schedule.js';
export { Adam, type AdamOptions } from './adam.js';
export { clipGradNorm, GradClipping } from './grad-clipping.js';
