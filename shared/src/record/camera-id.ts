// A camera id becomes a record key, a Prometheus label value, a spool
// directory name and a log field, so one rule for all of them: defined here
// once, applied where an id enters (agent config, every consumed record).

/** 1-64 of letters, digits, ".", "_" and "-", starting with a letter or digit, no "..". */
const CAMERA_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const CAMERA_ID_RULE = '1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit, without ".." (like CAMERA-1)';

/** Why `id` is not a valid camera id (undefined when it is). Quotes at most 40 characters of it. */
export function cameraIdProblem(id: string): string | undefined {
  if (CAMERA_ID_PATTERN.test(id) && !id.includes('..')) return undefined;
  const shown = JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}…` : id);
  return `camera id ${shown}${id.length > 40 ? ` (${id.length} characters)` : ''} is not ${CAMERA_ID_RULE}`;
}
