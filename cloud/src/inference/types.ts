/** Types shared by the inference steps and by the model adapters. */

/** Region of interest for the landmark model (MediaPipe's pose_detection_to_roi): rotated square in frame px, rotation in radians (clockwise on screen). */
export interface Roi {
  cx: number;
  cy: number;
  side: number;
  rotation: number;
  /** Tracking: the id of the track this ROI follows, carried from a hint's ROI to the result's next ROI. */
  track?: number;
}

/** A decoded frame: tightly packed 8-bit RGB, row-major, `width * height * 3` bytes. */
export interface DecodedImage {
  width: number;
  height: number;
  rgb: Buffer;
}

/** One body keypoint in frame pixels; `z` is depth in the same pixel scale when the model gives one. */
export interface Keypoint {
  name: string;
  x: number;
  y: number;
  z?: number;
  /** 0..1: how likely the point is visible (not occluded, inside the frame). */
  visibility: number;
}

export interface Person {
  /** [x, y, width, height] in frame pixels: the visible keypoints' bounds grown to the body outline. */
  box: [number, number, number, number];
  /** 0..1 confidence that this is a person. */
  score: number;
  keypoints: Keypoint[];
}

/**
 * Milliseconds spent per step. In a batched call the steps run once for all
 * images, so every result of that call carries the same (whole-batch) timings.
 */
export interface PoseTimings {
  detectMs: number;
  landmarksMs: number;
  totalMs: number;
}

export interface PoseResult {
  persons: Person[];
  timings: PoseTimings;
  /** Tracking models: the ROI in the next frame of each person (from its landmarks), and whether the person detector ran. */
  rois?: Roi[];
  detected?: boolean;
}

/**
 * Where to look in one image, from the camera's previous result (MediaPipe's
 * pose tracking): `rois` go to the landmark model directly; the person
 * detector runs only when `detect` is set.
 */
export interface TrackingHint {
  rois: Roi[];
  /** Run the person detector over the whole frame (every region). */
  detect: boolean;
  /** Otherwise, a step of the sweep: the detector runs on the tile with untracked motion, or the border tiles in turn (see sweep.ts). */
  sweep?: number;
  /** Otherwise also: where persons were lost (their predicted ROIs); the detector looks again in a square around each. */
  search?: Roi[];
  /** The frame's camera, for per-camera state in the worker (the sweep's previous frame). */
  camera?: string;
}

/**
 * The adapter interface every pose model implements. `batchable` says whether
 * passing several frames to one `infer` call is cheaper than one call each.
 */
export interface PoseModel {
  name: string;
  batchable: boolean;
  /** `hints[i]` (optional, tracking models only) for `images[i]`. */
  infer(images: DecodedImage[], hints?: (TrackingHint | undefined)[]): Promise<PoseResult[]>;
  close(): Promise<void>;
}

/** The 33 BlazePose landmark names, in model output order. */
export const BLAZEPOSE_KEYPOINTS: readonly string[] = [
  'nose', 'left_eye_inner', 'left_eye', 'left_eye_outer', 'right_eye_inner', 'right_eye', 'right_eye_outer',
  'left_ear', 'right_ear', 'mouth_left', 'mouth_right', 'left_shoulder', 'right_shoulder', 'left_elbow',
  'right_elbow', 'left_wrist', 'right_wrist', 'left_pinky', 'right_pinky', 'left_index', 'right_index',
  'left_thumb', 'right_thumb', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle',
  'left_heel', 'right_heel', 'left_foot_index', 'right_foot_index',
];

/** The 17 COCO keypoint names (MoveNet, YOLO-pose and most single-stage models). */
export const COCO_KEYPOINTS: readonly string[] = [
  'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow',
  'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle',
  'right_ankle',
];
