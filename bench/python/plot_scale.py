"""Plots bench/e2e.mjs benchScale's result: age p50/p99 and CPU cores against cameras.
usage: plot_scale.py scale.json scale.png"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

data = json.load(open(sys.argv[1]))
runs = data["runs"]
n = [r["cameras"] for r in runs]
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(n, [r["captureToInferenceMs"]["p50"] for r in runs], "o-", label="age p50 (capture → inference record)")
ax.plot(n, [r["captureToInferenceMs"]["p99"] for r in runs], "s-", label="age p99")
ax.axhline(data["maxLagMs"], color="red", linestyle="--", label=f"maxLagMs {data['maxLagMs']}")
ax.set_xlabel("cameras × 5 fps")
ax.set_ylabel("ms")
ax2 = ax.twinx()
ax2.plot(n, [r["cpuCoresCloud"] + r["cpuCoresAgents"] for r in runs], "^:", color="gray", label="CPU cores (cloud + agents)")
ax2.set_ylabel("CPU cores")
lines = ax.get_legend_handles_labels()
lines2 = ax2.get_legend_handles_labels()
ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="upper left")
ax.set_title("frameline on one machine: cameras at 5 fps")
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=100)
