#!/usr/bin/env python3
"""The second seed's design with the lag bench's slow model: every frame queued, in order.

Like seed_pipeline.py (kafka-python, no group, every partition from its end,
one frame after the other however far behind), but the "model" is the one the
frameline service gets in bench/lag.mjs: decode the JPEG (Pillow), then burn
CPU for --ms-per-frame (cloud/test/slow-model.ts does the same), so both
designs do the same work per frame. stdout: {"ready": true} once assigned, then
one {"camera", "capturedAt", "doneAt"} line per frame.
"""
import argparse
import io
import json
import math
import signal
import sys
import time

from kafka import KafkaConsumer, TopicPartition
from PIL import Image

ap = argparse.ArgumentParser()
ap.add_argument("--bootstrap", required=True)
ap.add_argument("--password-file", required=True)
ap.add_argument("--topic", required=True)
ap.add_argument("--ms-per-frame", type=float, required=True)
args = ap.parse_args()
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
with open(args.password_file, encoding="utf-8") as f:
    password = f.read().strip()

consumer = KafkaConsumer(
    bootstrap_servers=args.bootstrap, security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
    sasl_plain_username="cloud", sasl_plain_password=password, group_id=None, enable_auto_commit=False,
    auto_offset_reset="latest", max_partition_fetch_bytes=8 * 1024 * 1024,
)
tps = [TopicPartition(args.topic, p) for p in sorted(consumer.partitions_for_topic(args.topic) or [])]
if not tps:
    raise SystemExit(f"topic {args.topic} not found or not readable")
consumer.assign(tps)
consumer.seek_to_end(*tps)
for tp in tps:
    consumer.position(tp)
print(json.dumps({"ready": True}), flush=True)

for msg in consumer:
    headers = {k: v.decode() for k, v in msg.headers or []}
    Image.open(io.BytesIO(msg.value)).convert("RGB")
    until = time.perf_counter() + args.ms_per_frame / 1000
    while time.perf_counter() < until:  # burn, don't sleep: a model occupies the core
        for i in range(1000):
            math.sqrt(i)
    print(json.dumps({"camera": headers.get("fl-camera"), "capturedAt": float(headers["fl-captured-at"]), "doneAt": time.time() * 1000}), flush=True)
