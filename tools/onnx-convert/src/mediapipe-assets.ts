/**
 * @mediapipe/pose ships the person detector only inside an Emscripten packed
 * data file (pose_solution_packed_assets.data); its loader script lists each
 * packed file's byte range. This reads one file back out.
 */
export function extractPackedFile(loaderJs: string, packed: Uint8Array, fileName: string): Uint8Array {
  const entries = loaderJs.matchAll(/\{"filename":\s*"([^"]+)",\s*"start":\s*(\d+),\s*"end":\s*(\d+)/g);
  for (const m of entries) {
    const [, name = '', start = '0', end = '0'] = m;
    if (name === fileName || name.endsWith(`/${fileName}`)) {
      if (Number(end) > packed.length) throw new Error(`${fileName}: packed data file is truncated`);
      return packed.subarray(Number(start), Number(end));
    }
  }
  throw new Error(`${fileName} is not listed in the packed assets loader`);
}
