// Analysis of finished (or partly finished) runs and experiments: pure data, no drawing.
export * from './run-folder.js';
export * from './experiment-folder.js';
export * from './class-weights.js';
export * from './scores.js';
export * from './extremes.js';
export * from './detection.js';
export * from './curves.js';
export * from './sample-images.js';
