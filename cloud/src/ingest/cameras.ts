// The cameras this instance has seen, bounded: every per-camera structure
// (window, scheduler slot, clock estimate, metric label) is keyed by an id
// that comes from the records, so a producer inventing ids must not grow
// them without limit. Past the bound, records of new cameras are refused.

export interface CameraAdmission {
  /** True when `camera` is known or there is still room for it. */
  admit(camera: string): boolean;
  count(): number;
}

export function createCameraAdmission(maxCameras: number): CameraAdmission {
  const known = new Set<string>();
  return {
    admit(camera) {
      if (known.has(camera)) return true;
      if (known.size >= maxCameras) return false;
      known.add(camera);
      return true;
    },
    count: () => known.size,
  };
}
