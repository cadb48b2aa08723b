export * from './layer.js';
export * from './dense.js';
export * from './flatten.js';
export * from './inputLayer.js';
export * from './registry.js';
