export { SGD, type SGDOptions } from './sgd.js';
export * from './schedule.js';
