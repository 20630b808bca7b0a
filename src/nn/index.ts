export { Module } from './module.js';
export * from './layers.js';
export * as init from './init.js';
export { LSTMCell, type LSTMState } from './lstm.js';
