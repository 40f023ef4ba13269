/** The converters' public surface: what the build scripts and other packages' tests may use. */
export { convertTflite, type ConvertOptions } from './tflite/convert.js';
export { extractPackedFile } from './mediapipe-assets.js';
export { convertTfjs, type TfjsConvertOptions } from './tfjs/convert.js';
export { decodeWeights, findHumanPackage, type TfjsModelJson } from './tfjs/model-json.js';
export { DataType, encodeModel } from './onnx/onnx-proto.js';
