/** TFLite → ONNX conversion (the project's own converter, see README in cloud/models). */
export { convertTflite, type ConvertOptions } from './convert.js';
export { parseModel, opName } from './schema.js';
export { extractPackedFile } from './mediapipe-assets.js';
