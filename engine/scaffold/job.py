"""A stand-in for a long job: it reports its progress, and fails with FAIL=1."""

import json
import os
import time

for step in range(1, 6):
    print(json.dumps({"step": step, "loss": round(1.0 / step, 3)}), flush=True)
    time.sleep(1)
if os.environ.get("FAIL") == "1":
    raise RuntimeError("the job was asked to fail")
print("done", flush=True)
