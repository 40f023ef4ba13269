#!/usr/bin/env python3
"""The like-for-like Python baseline of bench/inference.mjs: what a user would
write instead of frameline's cloud, doing the same work.

kafka-python consumer (INTERNAL, SCRAM), OpenCV JPEG decode, onnxruntime's
Python package running the same ONNX files (cloud/models/pose_detection.onnx
and pose_landmark_<variant>.onnx) with the same multi-person steps as
cloud/src/inference: the BlazePose detector over overlapping 256 px tiles
plus the letterboxed whole frame (one batched run), anchor decoding, weighted
NMS, a rotated ROI per person from the hip and body-circle points, the
landmark model on every ROI (one batched run), presence >= 0.5, duplicates
dropped. Every frame is inferred in order, like the second seed.
Resampling is OpenCV's (resize / warpAffine), as a Python user would write it.

Modes:
  --jpeg-dir DIR      bare loop over DIR/*.jpg (no Kafka): prints one JSON
                      summary line (frames, persons/frame, ms per frame)
  --bootstrap ...     consumer; stdout as seed_pipeline.py:
                      {"ready": true} then one JSON object per frame
"""
import argparse
import glob
import json
import math
import os
import signal
import sys
import time

import cv2
import numpy as np
import onnxruntime as ort

DET_INPUT = 224
LM_INPUT = 256
TILE = 256
TILE_OVERLAP = 0.25
MIN_SCORE = 0.5
NMS_IOU = 0.3
ROI_SCALE = 1.25
MIN_PRESENCE = 0.5
DUPLICATE_IOU = 0.6


def anchors():
    """SSD anchor centres of pose_detection (strides 8, 16, 32x3; 2 per layer)."""
    out = []
    for stride, per_cell in ((8, 2), (16, 2), (32, 6)):
        cells = math.ceil(DET_INPUT / stride)
        for y in range(cells):
            for x in range(cells):
                out.extend([((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell)
    return np.array(out, np.float32)


def tile_starts(length, side, stride):
    if length <= side:
        return [(length - side) / 2]
    n = math.ceil((length - side) / stride) + 1
    return [round(i * (length - side) / (n - 1)) for i in range(n)]


def regions(w, h):
    """(x, y, side, max body diameter) squares: overlapping tiles + the letterboxed frame."""
    side = min(TILE, w, h)
    stride = side * (1 - TILE_OVERLAP)
    tiles = [(x, y, side, side) for y in tile_starts(h, side, stride) for x in tile_starts(w, side, stride)]
    big = max(w, h)
    whole = ((w - big) / 2, (h - big) / 2, big, float("inf"))
    return [whole] if len(tiles) == 1 else tiles + [whole]


def iou(a, b):
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def weighted_nms(dets):
    """dets: list of (score, box[4], kps[4x2]); MediaPipe's weighted NMS."""
    remaining = sorted(dets, key=lambda d: -d[0])
    kept = []
    while remaining:
        best = remaining[0]
        group = [d for d in remaining if iou(best[1], d[1]) > NMS_IOU]
        remaining = [d for d in remaining if iou(best[1], d[1]) <= NMS_IOU]
        wts = np.array([d[0] for d in group])
        box = np.average(np.array([d[1] for d in group]), axis=0, weights=wts)
        kps = np.average(np.array([d[2] for d in group]), axis=0, weights=wts)
        kept.append((best[0], box, kps))
    return kept


class Pose:
    def __init__(self, models_dir, variant, threads=0):
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        prov = ["CPUExecutionProvider"]
        self.det = ort.InferenceSession(os.path.join(models_dir, "pose_detection.onnx"), so, providers=prov)
        self.lm = ort.InferenceSession(os.path.join(models_dir, f"pose_landmark_{variant}.onnx"), so, providers=prov)
        self.anchors = anchors()
        self.infer(np.zeros((576, 768, 3), np.uint8))  # warm-up, like the service's sessions

    def detect(self, rgb):
        h, w = rgb.shape[:2]
        regs = regions(w, h)
        batch = np.empty((len(regs), DET_INPUT, DET_INPUT, 3), np.float32)
        for i, (x, y, side, _) in enumerate(regs):
            x0, y0 = int(round(x)), int(round(y))
            if x0 >= 0 and y0 >= 0 and x0 + side <= w and y0 + side <= h:
                crop = rgb[y0:y0 + side, x0:x0 + side]
            else:  # letterbox: pad to the square with black
                crop = cv2.copyMakeBorder(rgb, max(0, -y0), max(0, y0 + side - h), max(0, -x0), max(0, x0 + side - w), cv2.BORDER_CONSTANT, value=0)
            interp = cv2.INTER_AREA if side > 2 * DET_INPUT else cv2.INTER_LINEAR
            batch[i] = cv2.resize(crop, (DET_INPUT, DET_INPUT), interpolation=interp)
        batch = batch / 127.5 - 1.0
        raw, logits = self.det.run(["Identity", "Identity_1"], {"input_1": batch.astype(np.float32)})
        scores = 1 / (1 + np.exp(-np.clip(logits[..., 0].astype(np.float64), -100, 100)))
        found = []
        for i, (x, y, side, max_body) in enumerate(regs):
            for a in np.nonzero(scores[i] >= MIN_SCORE)[0]:
                r = raw[i, a] / DET_INPUT
                ax, ay = self.anchors[a]
                kps = np.array([[x + (r[4 + 2 * k] + ax) * side, y + (r[5 + 2 * k] + ay) * side] for k in range(4)])
                if 2 * np.hypot(*(kps[1] - kps[0])) > max_body:
                    continue
                bw, bh = r[2] * side, r[3] * side
                found.append((float(scores[i, a]), np.array([x + (r[0] + ax) * side - bw / 2, y + (r[1] + ay) * side - bh / 2, bw, bh]), kps))
        return weighted_nms(found)

    def landmarks(self, rgb, rois):
        batch = np.empty((len(rois), LM_INPUT, LM_INPUT, 3), np.float32)
        for i, (cx, cy, side, rot) in enumerate(rois):
            s = side / LM_INPUT
            c, sn = math.cos(rot), math.sin(rot)
            ox = cx - side / 2 * c + side / 2 * sn
            oy = cy - side / 2 * sn - side / 2 * c
            # output pixel (u, v) -> frame (continuous, pixel centres at +0.5) -> OpenCV index
            m = np.array([[s * c, -s * sn, ox + 0.5 * s * c - 0.5 * s * sn - 0.5],
                          [s * sn, s * c, oy + 0.5 * s * sn + 0.5 * s * c - 0.5]], np.float64)
            batch[i] = cv2.warpAffine(rgb, m, (LM_INPUT, LM_INPUT), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        values, presence = self.lm.run(["Identity", "Identity_1"], {"input_1": (batch / 255.0).astype(np.float32)})
        return values.reshape(len(rois), 39, 5), presence[:, 0]

    def infer(self, rgb, max_persons=8, min_visibility=0.3):
        h, w = rgb.shape[:2]
        rois = []
        for _, _, kps in self.detect(rgb)[:max_persons]:
            (x0, y0), (x1, y1) = kps[0], kps[1]
            rot = math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0)
            rot -= 2 * math.pi * math.floor((rot + math.pi) / (2 * math.pi))
            rois.append((x0, y0, 2 * math.hypot(x1 - x0, y1 - y0) * ROI_SCALE, rot))
        if not rois:
            return []
        values, presence = self.landmarks(rgb.astype(np.float32), rois)
        persons = []
        for (cx, cy, side, rot), lm, p in zip(rois, values, presence):
            if p < MIN_PRESENCE:
                continue
            c, sn = math.cos(rot), math.sin(rot)
            dx = (lm[:33, 0] / LM_INPUT - 0.5) * side
            dy = (lm[:33, 1] / LM_INPUT - 0.5) * side
            xs, ys = cx + dx * c - dy * sn, cy + dx * sn + dy * c
            vis = 1 / (1 + np.exp(-lm[:33, 3]))
            sel = vis >= min_visibility
            if sel.sum() < 2:
                sel[:] = True
            px, py = xs[sel], ys[sel]
            mx, my = (px.max() - px.min()) * 0.1, (py.max() - py.min()) * 0.1
            bx0, by0 = max(px.min() - mx, 0), max(py.min() - my, 0)
            bx1, by1 = min(px.max() + mx, w), min(py.max() + my, h)
            persons.append((float(p), (bx0, by0, max(bx1 - bx0, 0), max(by1 - by0, 0))))
        kept = []
        for p in sorted(persons, key=lambda q: -q[0]):
            if not any(iou(k[1], p[1]) > DUPLICATE_IOU for k in kept):
                kept.append(p)
        return kept


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def header(headers, name):
    for k, v in headers or []:
        if k == name:
            return v.decode("utf-8") if isinstance(v, (bytes, bytearray)) else v
    return None


def bare(pose, jpeg_dir):
    jpegs = [open(f, "rb").read() for f in sorted(glob.glob(os.path.join(jpeg_dir, "*.jpg")))]
    images = [cv2.cvtColor(cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) for j in jpegs]
    ms, persons = [], []
    t0, c0 = time.perf_counter(), time.process_time()  # process_time: CPU of all the process's threads
    for img in images:
        t = time.perf_counter()
        persons.append(len(pose.infer(img)))
        ms.append((time.perf_counter() - t) * 1000)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    emit({"frames": len(images), "framesPerSec": len(images) / wall, "cpuMsPerFrame": cpu * 1000 / len(images), "persons": persons, "msPerFrame": ms})


def consume(pose, args):
    from kafka import KafkaConsumer, TopicPartition
    with open(args.password_file, encoding="utf-8") as f:
        password = f.read().strip()
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap, security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=args.username, sasl_plain_password=password, group_id=None, enable_auto_commit=False,
        auto_offset_reset="latest", max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_bytes=32 * 1024 * 1024,
    )
    tps = [TopicPartition(args.topic, p) for p in sorted(consumer.partitions_for_topic(args.topic) or [])]
    if not tps:
        raise SystemExit(f"topic {args.topic} not found or not readable by {args.username}")
    consumer.assign(tps)
    consumer.seek_to_end(*tps)
    emit({"ready": True, "positions": {tp.partition: consumer.position(tp) for tp in tps}})
    for msg in consumer:  # every frame, in order, however far behind
        t0 = time.perf_counter()
        rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(msg.value, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        t1 = time.perf_counter()
        persons = pose.infer(rgb)
        t2 = time.perf_counter()
        seq, captured = header(msg.headers, "fl-seq"), header(msg.headers, "fl-captured-at")
        emit({
            "camera": header(msg.headers, "fl-camera") or f"partition-{msg.partition}",
            "seq": int(seq) if seq is not None else msg.offset,
            "capturedAt": float(captured) if captured is not None else float(msg.timestamp),
            "doneAt": time.time() * 1000, "persons": len(persons),
            "decodeMs": round((t1 - t0) * 1000, 2), "inferMs": round((t2 - t1) * 1000, 2),
        })


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models-dir", required=True)
    ap.add_argument("--variant", default="full", choices=["lite", "full", "heavy"])
    ap.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads; 0: its default (one per core)")
    ap.add_argument("--jpeg-dir")
    ap.add_argument("--bootstrap")
    ap.add_argument("--username")
    ap.add_argument("--password-file")
    ap.add_argument("--topic")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    pose = Pose(args.models_dir, args.variant, args.threads)
    if args.jpeg_dir:
        bare(pose, args.jpeg_dir)
    else:
        consume(pose, args)


if __name__ == "__main__":
    main()
