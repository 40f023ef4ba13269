#!/usr/bin/env python3
"""Reference outputs of the ORIGINAL TFLite models, for tools/onnx-convert/test/tflite-convert.test.ts.

Runs each .tflite with the official LiteRT interpreter (PyPI `ai-edge-litert`)
on the committed model-input PNG fixtures and writes small JSON summaries to
tools/onnx-convert/test/fixtures/ref_<model>__<image>.json.

Setup (once, the venv is gitignored):
    python3 -m venv .cache/pyref
    .cache/pyref/bin/pip install ai-edge-litert numpy pillow
Run from the repository root (after `node tools/onnx-convert/scripts/convert-models.mjs`,
which extracts pose_detection.tflite into cloud/models/):
    .cache/pyref/bin/python tools/onnx-convert/scripts/reference_outputs.py

The input PNGs are already exactly the model input size, so preprocessing is
only a normalisation that the TypeScript test repeats bit-for-bit in float32:
    detector (224x224): x / 127.5 - 1   -> [-1, 1]
    landmarks (256x256): x / 255        -> [0, 1]
`--make-inputs ASTRONAUT_PNG VTEST_FRAME_PNG` regenerates those PNGs from the
source images (see tools/onnx-convert/test/fixtures/README.md for where they come from).
"""
import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FIX = os.path.join(ROOT, "tools", "onnx-convert", "test", "fixtures")
# The full CCTV frame is also the cloud's pose-test fixture.
CLOUD_FIX = os.path.join(ROOT, "cloud", "test", "fixtures")
POSE_PKG = os.path.join(ROOT, "node_modules", "@mediapipe", "pose")
MODELS_DIR = os.path.join(ROOT, "cloud", "models")

# model name -> (tflite path, kind)
MODELS = {
    "pose_detection": (os.path.join(MODELS_DIR, "pose_detection.tflite"), "detector"),
    "pose_landmark_lite": (os.path.join(POSE_PKG, "pose_landmark_lite.tflite"), "landmark"),
    "pose_landmark_full": (os.path.join(POSE_PKG, "pose_landmark_full.tflite"), "landmark"),
    "pose_landmark_heavy": (os.path.join(POSE_PKG, "pose_landmark_heavy.tflite"), "landmark"),
}
IMAGES = {
    "detector": ["astronaut_224.png", "vtest_224.png"],
    "landmark": ["astronaut_256.png", "vtest_person_256.png"],
}

FULL_LIMIT = 256  # outputs up to this many values are stored whole
SAMPLES = 512  # larger outputs: this many evenly strided values + stats
TOP_K = 10  # detector: full rows of the best-scoring anchors


def normalise(rgb: np.ndarray, kind: str) -> np.ndarray:
    x = rgb.astype(np.float32)
    if kind == "detector":
        return x / np.float32(127.5) - np.float32(1.0)
    return x / np.float32(255.0)


def load_input(name: str, kind: str) -> np.ndarray:
    rgb = np.asarray(Image.open(os.path.join(FIX, name)).convert("RGB"))
    return normalise(rgb, kind)[None, ...]


def r(v: float) -> float:
    return float(f"{float(v):.7g}")


def summarise(a: np.ndarray) -> dict:
    flat = a.reshape(-1).astype(np.float64)
    out = {
        "shape": list(a.shape),
        "min": r(flat.min()),
        "max": r(flat.max()),
        "mean": r(flat.mean()),
        "absMean": r(np.abs(flat).mean()),
    }
    if flat.size <= FULL_LIMIT:
        out["values"] = [r(v) for v in flat]
    else:
        stride = flat.size // SAMPLES
        out["sampleStride"] = stride
        out["samples"] = [r(v) for v in flat[::stride][:SAMPLES]]
    return out


def run_model(path: str, x: np.ndarray) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=path, num_threads=1)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return {d["name"]: it.get_tensor(d["index"]).copy() for d in it.get_output_details()}


def top_anchors(outs: dict) -> list:
    boxes, scores = outs["Identity"][0], outs["Identity_1"][0, :, 0]
    best = np.argsort(-scores)[:TOP_K]
    return [{"anchor": int(i), "score": r(scores[i]), "box": [r(v) for v in boxes[i]]} for i in best]


def make_inputs(astronaut: str, vtest: str) -> None:
    """Model-input-sized PNGs (deterministic, lossless) from the source images."""
    a = Image.open(astronaut).convert("RGB")
    a.resize((256, 256), Image.BILINEAR).save(os.path.join(FIX, "astronaut_256.png"), optimize=True)
    a.resize((224, 224), Image.BILINEAR).save(os.path.join(FIX, "astronaut_224.png"), optimize=True)
    v = Image.open(vtest).convert("RGB")  # 768x576 CCTV frame
    v.save(os.path.join(CLOUD_FIX, "vtest_frame.jpg"), quality=85)
    # Letterbox to 224x224 like MediaPipe's keep_aspect_ratio: 224x168 + 28 px black bars.
    scaled = v.resize((224, 168), Image.BILINEAR)
    box = Image.new("RGB", (224, 224))
    box.paste(scaled, (0, 28))
    box.save(os.path.join(FIX, "vtest_224.png"), optimize=True)
    # One small walking person (about 35x110 px), square crop upscaled as the landmark ROI.
    cx, cy, side = 632, 315, 150
    crop = v.crop((cx - side // 2, cy - side // 2, cx + side // 2, cy + side // 2))
    crop.resize((256, 256), Image.BILINEAR).save(os.path.join(FIX, "vtest_person_256.png"), optimize=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--make-inputs", nargs=2, metavar=("ASTRONAUT_PNG", "VTEST_FRAME_PNG"))
    args = ap.parse_args()
    if args.make_inputs:
        make_inputs(*args.make_inputs)
    for model, (path, kind) in MODELS.items():
        if not os.path.exists(path):
            print(f"missing {path} (run tools/onnx-convert/scripts/convert-models.mjs first)", file=sys.stderr)
            return 1
        for image in IMAGES[kind]:
            x = load_input(image, kind)
            outs = run_model(path, x)
            ref = {
                "model": model,
                "image": image,
                "normalisation": "x/127.5-1" if kind == "detector" else "x/255",
                "runtime": "ai-edge-litert",
                "outputs": {name: summarise(v) for name, v in sorted(outs.items())},
            }
            if kind == "detector":
                ref["topAnchors"] = top_anchors(outs)
            dst = os.path.join(FIX, f"ref_{model}__{os.path.splitext(image)[0]}.json")
            with open(dst, "w") as f:
                json.dump(ref, f, separators=(",", ":"))
                f.write("\n")
            print(f"wrote {os.path.relpath(dst, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
