// The test toolbox, @frameline/shared/testing: a real broker, real JPEGs,
// seeded randomness, polling and free ports.
export * from './broker.js';
export * from './jpegs.js';
export * from './random.js';
export * from './wait.js';
