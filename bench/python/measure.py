"""Runs one command and writes its wall time, CPU seconds and peak RSS as JSON.

The kernel's rusage of the waited child (utime + stime, ru_maxrss = its VmHWM
in KiB), so every producer in the bench is measured the same way whatever its
language. Usage: measure.py OUT.json CMD [ARGS...]; exits with CMD's status.
"""
import json
import resource
import subprocess
import sys
import time

out, cmd = sys.argv[1], sys.argv[2:]
started = time.monotonic()
status = subprocess.run(cmd).returncode
wall = time.monotonic() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as f:
    json.dump({"wall": wall, "utime": usage.ru_utime, "stime": usage.ru_stime, "maxrssKiB": usage.ru_maxrss, "status": status}, f)
sys.exit(status)
