// Output: formats, renderers, terminal safety and the stderr logger.
export * from './format.js';
export * from './logger.js';
export * from './render.js';
export * from './terminal.js';
