/** TensorFlow.js graph model → ONNX conversion (the project's own converter, see cloud/models/README.md). */
export { convertTfjs, type TfjsConvertOptions } from './convert.js';
export { decodeWeights, findHumanPackage, type TfjsModelJson } from './model-json.js';
