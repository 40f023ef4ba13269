/**
 * `frameline-cloud infer`: run the pose model on image files and print one
 * `video.inferences` record (JSON) per image; optionally write each image
 * with the skeletons drawn on it.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Logger } from '@frameline/shared';
import { createPoseModel, decodeJpeg, drawPoses, type Person, type PoseModelOptions } from '../inference/index.js';
import { INFERENCE_SCHEMA, serialiseRecord, type InferenceRecord } from '../publish/record.js';

export type { InferenceRecord } from '../publish/record.js';

export { drawPoses } from '../inference/index.js';

export interface InferArgs {
  /** JPEG or PNG files */
  images: string[];
  /** when set, writes `<outDir>/<basename>.pose.jpg` with the poses drawn */
  outDir?: string;
  /** pose model config; default BlazePose full, tiled detector */
  model?: PoseModelOptions;
  /** where record lines go; default stdout */
  write?: (line: string) => void;
  /** where the one line per image that failed goes; default stderr */
  writeError?: (line: string) => void;
  /** images with more pixels are refused from their header; default DEFAULT_MAX_FRAME_PIXELS */
  maxPixels?: number;
}

/** Records of the images that worked; `failed` images each got one error line. */
export interface InferOutcome extends Array<InferenceRecord> {
  failed: number;
}

/** Sub-pixel digits beyond 0.1 px are noise from the models; keep records small. */
const round = (v: number, digits: number): number => Number(v.toFixed(digits));

function toRecordPersons(persons: Person[]): Person[] {
  return persons.map((p) => ({
    box: p.box.map((v) => round(v, 1)) as Person['box'],
    score: round(p.score, 3),
    keypoints: p.keypoints.map((k) => ({
      name: k.name,
      x: round(k.x, 1),
      y: round(k.y, 1),
      ...(k.z === undefined ? {} : { z: round(k.z, 1) }),
      visibility: round(k.visibility, 3),
    })),
  }));
}

/**
 * Infers every image in turn. An image that cannot be read or decoded gets
 * one line on writeError (`<path>: <code>: <reason>`) and the rest go on;
 * the caller turns `failed` into the exit status.
 */
export async function inferCommand(args: InferArgs, logger: Logger): Promise<InferOutcome> {
  const log = logger.child('infer');
  const write = args.write ?? ((line: string) => void process.stdout.write(line + '\n'));
  const model = await createPoseModel(args.model ?? {}, log);
  if (args.outDir) await mkdir(args.outDir, { recursive: true });
  const writeError = args.writeError ?? ((line: string) => void process.stderr.write(line + '\n'));
  const records = Object.assign([] as InferenceRecord[], { failed: 0 });
  try {
    for (const [seq, path] of args.images.entries()) {
      try {
        records.push(await inferOne(seq, path));
      } catch (err) {
        records.failed++;
        const code = (err as { code?: string }).code;
        writeError(`${path}: ${code && /^[a-z-]+$/.test(code) ? `${code}: ` : ''}${(err as Error).message}`);
      }
    }
  } finally {
    await model.close();
  }
  return records;

  async function inferOne(seq: number, path: string): Promise<InferenceRecord> {
    const [bytes, info] = await Promise.all([readFile(path), stat(path)]);
    const ingestedAt = Date.now();
    const t0 = performance.now();
    const image = await decodeJpeg(bytes, args.maxPixels);
    const decodeMs = performance.now() - t0;
    const [result] = await model.infer([image]);
    if (!result) throw new Error(`model ${model.name} returned no result for ${path}`);
    const record: InferenceRecord = {
      schema: INFERENCE_SCHEMA,
      camera: 'file',
      run: 'infer',
      seq,
      capturedAt: Math.round(info.mtimeMs),
      ingestedAt,
      inferredAt: Date.now(),
      frame: { width: image.width, height: image.height, source: path },
      model: model.name,
      persons: toRecordPersons(result.persons),
      timings: { decodeMs: round(decodeMs, 1), detectMs: round(result.timings.detectMs, 1), landmarksMs: round(result.timings.landmarksMs, 1) },
    };
    write(serialiseRecord(record));
    if (args.outDir) {
      const target = join(args.outDir, `${basename(path, extname(path))}.pose.jpg`);
      await writeFile(target, await drawPoses(image, result.persons));
      log.debug('overlay written', { path: target, persons: result.persons.length });
    }
    return record;
  }
}
