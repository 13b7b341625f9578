export * from './entries.js';
export * from './layer.js';
export * from './node.js';
export * from './path.js';
export * from './tree.js';
