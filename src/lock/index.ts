// The lock: imprint.lock types, spec hash, serialisation, file io, SHA256SUMS export.
export * from './io.js';
export * from './serialize.js';
export * from './sha256sums.js';
export * from './spec-hash.js';
export * from './types.js';
