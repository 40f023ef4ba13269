"""Plots bench/lag.mjs's per-second inferred-frame age: plot_lag.py IN.json OUT.png."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

data = json.load(open(sys.argv[1]))
fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
for name, series in data["series"].items():
    # Seconds with no inference stay gaps (NaN), not lines drawn across them.
    ts = [p["t"] for p in series["points"]]
    ages = [p["ageMs"] / 1000 if p["ageMs"] is not None else float("nan") for p in series["points"]]
    ax.plot(ts, ages, marker=".", markersize=3, label=f'{name} (slope {series["slope"]:.2f} s/s)')
ax.axhline(data["maxLagMs"] / 1000, color="grey", ls=":", label=f'maxLagMs {data["maxLagMs"]} ms')
ax.set_xlabel("seconds since the cameras started")
ax.set_ylabel("age of the inferred frame (s)")
ax.set_title(f'{data["cameras"]} cameras x {data["fps"]} fps, model {data["msPerFrame"]} ms/frame ({data["date"][:16]}Z)')
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(sys.argv[2])
