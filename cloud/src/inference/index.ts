/** Pose inference: the public surface of cloud/src/inference. */
export { createPoseModel, resolveBlazePoseOptions, DEFAULT_MODELS_DIR, type BlazePoseConfig, type PoseModelOptions } from './pose.js';
export type { DecodedImage, Keypoint, Person, PoseModel, PoseResult, PoseTimings, TrackingHint } from './types.js';
export type { Roi } from './roi.js';
export { BLAZEPOSE_KEYPOINTS, COCO_KEYPOINTS } from './types.js';
export type { OnnxKeypointsOptions, MoveNetDecode } from './keypoints.js';
export type { DetectorOptions } from './detector.js';
export { ModelFileMissingError, createSession, type SessionOptions, type ModelSession } from './session.js';
export { decodeJpeg, PixelLimitError } from './decode.js';
export { drawPoses, type DrawOptions } from './draw.js';
