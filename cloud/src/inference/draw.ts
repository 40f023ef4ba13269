/** Skeleton overlay: an SVG of bones, keypoints and boxes composited onto the frame with sharp. */
import sharp from 'sharp';
import type { DecodedImage, Person } from './types.js';

/** Bones by keypoint name, so COCO-17 models (a subset of the BlazePose names) draw too. */
export const BONES: readonly [string, string][] = [
  ['nose', 'left_eye'], ['left_eye', 'left_ear'], ['nose', 'right_eye'], ['right_eye', 'right_ear'],
  ['mouth_left', 'mouth_right'],
  ['left_shoulder', 'right_shoulder'], ['left_shoulder', 'left_hip'], ['right_shoulder', 'right_hip'], ['left_hip', 'right_hip'],
  ['left_shoulder', 'left_elbow'], ['left_elbow', 'left_wrist'], ['left_wrist', 'left_index'], ['left_wrist', 'left_pinky'], ['left_wrist', 'left_thumb'],
  ['right_shoulder', 'right_elbow'], ['right_elbow', 'right_wrist'], ['right_wrist', 'right_index'], ['right_wrist', 'right_pinky'], ['right_wrist', 'right_thumb'],
  ['left_hip', 'left_knee'], ['left_knee', 'left_ankle'], ['left_ankle', 'left_heel'], ['left_heel', 'left_foot_index'], ['left_ankle', 'left_foot_index'],
  ['right_hip', 'right_knee'], ['right_knee', 'right_ankle'], ['right_ankle', 'right_heel'], ['right_heel', 'right_foot_index'], ['right_ankle', 'right_foot_index'],
];

export interface DrawOptions {
  /** keypoints below this visibility are not drawn; default 0.5 */
  minVisibility?: number;
  /** JPEG quality of the result; default 85 */
  quality?: number;
}

const colour = (name: string): string => (name.startsWith('left_') ? '#ff8c00' : name.startsWith('right_') ? '#00bfff' : '#ffffff');
const fixed = (v: number): string => v.toFixed(1);

function personSvg(person: Person, minVisibility: number, stroke: number): string {
  const at = new Map(person.keypoints.filter((k) => k.visibility >= minVisibility).map((k) => [k.name, k]));
  const [bx, by, bw, bh] = person.box;
  const parts = [
    `<rect x="${fixed(bx)}" y="${fixed(by)}" width="${fixed(bw)}" height="${fixed(bh)}" fill="none" stroke="#00ff00" stroke-width="${stroke}"/>`,
    `<text x="${fixed(bx)}" y="${fixed(Math.max(by - 2, 10))}" fill="#00ff00" font-size="${stroke * 8}" font-family="sans-serif">${person.score.toFixed(2)}</text>`,
  ];
  for (const [a, b] of BONES) {
    const p = at.get(a);
    const q = at.get(b);
    if (p && q) parts.push(`<line x1="${fixed(p.x)}" y1="${fixed(p.y)}" x2="${fixed(q.x)}" y2="${fixed(q.y)}" stroke="${colour(b)}" stroke-width="${stroke}"/>`);
  }
  for (const k of at.values()) parts.push(`<circle cx="${fixed(k.x)}" cy="${fixed(k.y)}" r="${stroke * 1.5}" fill="${colour(k.name)}"/>`);
  return parts.join('');
}

/** The frame as JPEG with every person's box, bones and visible keypoints drawn on it. */
export async function drawPoses(image: DecodedImage, persons: Person[], options: DrawOptions = {}): Promise<Buffer> {
  const stroke = Math.max(1, Math.round(Math.max(image.width, image.height) / 400));
  const body = persons.map((p) => personSvg(p, options.minVisibility ?? 0.5, stroke)).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${image.width}" height="${image.height}">${body}</svg>`;
  return sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .jpeg({ quality: options.quality ?? 85 })
    .toBuffer();
}
