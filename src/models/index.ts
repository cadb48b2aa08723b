export * from './baseModel.js';
export * from './callbacks.js';
export * from './cloneModel.js';
export * from './errors.js';
export * from './sequential.js';
export * from './callbacks/index.js';
export * from './functional.js';
