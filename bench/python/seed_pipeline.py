#!/usr/bin/env python3
"""The baseline of bench/inference.mjs: a consumer like the second seed's.

The seed (shared/seeds/003_*) reads every frame with kafka-python on the
INTERNAL listener, decodes it with OpenCV and runs MediaPipe Pose on it, in
order, one frame after the other. When the model is slower than the cameras,
every frame still waits its turn, so lag grows for as long as the stream runs.
This script does exactly that (minus the seed's drawing and Flask page, which
would only make it slower), against the frameline frame record:

  key = camera id, value = JPEG, headers fl-camera, fl-seq, fl-captured-at.

It differs from the seed in one way on purpose: one `Pose` object per camera,
because MediaPipe's video mode tracks the person from frame to frame and three
interleaved cameras through one tracker would confuse it.

stdout, one JSON object per line:
  {"ready": true, "positions": {...}}                 once partitions are assigned
  {"camera", "seq", "capturedAt", "doneAt", "persons", "decodeMs", "inferMs"}  per frame
Run by the bench; by hand:
  .cache/bench-venv/bin/python bench/python/seed_pipeline.py --bootstrap 127.0.0.1:39092 \
      --username cloud --password-file .cache/kafka-bench/secrets/cloud.password --topic T
"""
import argparse
import json
import signal
import sys
import time

import cv2
import mediapipe as mp
import numpy as np
from kafka import KafkaConsumer, TopicPartition


def header(headers, name):
    for k, v in headers or []:
        if k == name:
            return v.decode("utf-8") if isinstance(v, (bytes, bytearray)) else v
    return None


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--username", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--model-complexity", type=int, default=1, help="0 lite, 1 full (the seed's default), 2 heavy")
    args = ap.parse_args()

    with open(args.password_file, encoding="utf-8") as f:
        password = f.read().strip()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    # No group, like the seed: assign every partition and start at its end,
    # so this run sees only the frames produced after it said "ready".
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=args.username,
        sasl_plain_password=password,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="latest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
    )
    partitions = consumer.partitions_for_topic(args.topic)
    if not partitions:
        raise SystemExit(f"topic {args.topic} not found or not readable by {args.username}")
    tps = [TopicPartition(args.topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    consumer.seek_to_end(*tps)
    positions = {tp.partition: consumer.position(tp) for tp in tps}

    poses = {}

    def pose_for(camera):
        if camera not in poses:
            poses[camera] = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=args.model_complexity)
        return poses[camera]

    # Load the model before saying ready, so start-up is not counted as lag.
    pose_for("warm-up").process(np.zeros((256, 256, 3), np.uint8))
    emit({"ready": True, "positions": positions})

    for msg in consumer:  # every frame, in order, however far behind
        camera = header(msg.headers, "fl-camera") or (msg.key.decode("utf-8") if msg.key else f"partition-{msg.partition}")
        seq = header(msg.headers, "fl-seq")
        captured = header(msg.headers, "fl-captured-at")
        t0 = time.perf_counter()
        image = cv2.imdecode(np.frombuffer(msg.value, np.uint8), cv2.IMREAD_COLOR)
        t1 = time.perf_counter()
        result = pose_for(camera).process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        t2 = time.perf_counter()
        emit({
            "camera": camera,
            "seq": int(seq) if seq is not None else msg.offset,
            "capturedAt": float(captured) if captured is not None else float(msg.timestamp),
            "doneAt": time.time() * 1000,
            "persons": 1 if result.pose_landmarks else 0,
            "decodeMs": round((t1 - t0) * 1000, 2),
            "inferMs": round((t2 - t1) * 1000, 2),
        })


if __name__ == "__main__":
    main()
