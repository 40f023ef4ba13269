// The frame pipeline: what happens to a frame between the camera and delivery.
export { createPipeline, type Pipeline, type PipelineOptions, type PipelineStats, type ReadyFrame, type ResizeOptions } from './pipeline.js';
export { createSharpCodec, type FrameCodec, type EncodedFrame, type ResizeBox } from './codec.js';
export { createFpsCap, type FpsCap } from './fps-cap.js';
export { createMotionGate, meanAbsDiff, type MotionGate, type MotionGateOptions, type MotionVerdict } from './motion-gate.js';
