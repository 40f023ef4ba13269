// Camera sources: where frames enter the agent.
import type { Logger } from '@frameline/shared';
import { createFileSource, type FileSourceOptions } from './file.js';
import { createRpicamSource, type RpicamOptions } from './rpicam.js';
import type { CameraSource } from './source.js';
import { createSyntheticSource, type SyntheticOptions } from './synthetic.js';

export type { CameraSource, CameraStats, CapturedFrame } from './source.js';
export { CameraUnavailableError } from './source.js';
export { createRpicamSource, rpicamArgs, resolveCameraBinary, CAMERA_BINARIES, type RpicamOptions } from './rpicam.js';
export { createFileSource, type FileSourceOptions } from './file.js';
export { createSyntheticSource, type SyntheticOptions } from './synthetic.js';
export { jpegSize, type JpegSize } from './jpeg-size.js';
export { createJpegSplitter, type JpegSplitter, type JpegSplitterStats } from './jpeg-splitter.js';
export { createLatestQueue, type LatestQueue } from './frame-queue.js';
export type { RestartPolicyOptions } from './restart-policy.js';

export type CameraSourceOptions =
  | ({ kind: 'rpicam' } & RpicamOptions)
  | ({ kind: 'file' } & FileSourceOptions)
  | ({ kind: 'synthetic' } & SyntheticOptions);

/** The source named by `options.kind`; for the composition root. */
export function createCameraSource(options: CameraSourceOptions, logger: Logger): CameraSource {
  switch (options.kind) {
    case 'rpicam':
      return createRpicamSource(options, logger);
    case 'file':
      return createFileSource(options, logger);
    case 'synthetic':
      return createSyntheticSource(options, logger);
  }
}
