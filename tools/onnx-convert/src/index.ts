/** The converters' public surface: what the build scripts and other packages' tests may use. */
export { convertTflite, type ConvertOptions } from './tflite/convert.js';
export { parseModel, opName } from './tflite/schema.js';
export { extractPackedFile } from './mediapipe-assets.js';
export { convertTfjs, type TfjsConvertOptions } from './tfjs/convert.js';
export { decodeWeights, findHumanPackage, type TfjsModelJson } from './tfjs/model-json.js';
export { DataType, encodeModel, type OnnxModel } from './onnx/onnx-proto.js';
