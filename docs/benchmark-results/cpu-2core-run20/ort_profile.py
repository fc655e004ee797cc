"""Run 20: ONNX Runtime's own profile of an ONNX file (one thread, a random 288x224 input, 50 calls): kernel time by
operator type and the 20 slowest convolutions.

    python docs/benchmark-results/cpu-2core-run20/ort_profile.py goselfies/assets/models/lite.int8.onnx
"""
import collections
import json
import sys
import tempfile

import numpy as np
import onnxruntime as ort

CALLS = 50
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.enable_profiling = True
options.profile_file_prefix = tempfile.mkdtemp() + "/ort"
session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
x = np.random.default_rng(0).random((1, 3, 224, 288), dtype=np.float32)
for _ in range(CALLS):
    session.run(None, {session.get_inputs()[0].name: x})
with open(session.end_profiling()) as f:
    events = [e for e in json.load(f) if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
by_op, by_conv = collections.Counter(), collections.Counter()
for e in events:
    by_op[e["args"]["op_name"]] += e["dur"]
    if "Conv" in e["args"]["op_name"]:
        by_conv[e["name"][: -len("_kernel_time")]] += e["dur"]
total = sum(by_op.values())
for op, us in by_op.most_common(12):
    print(f"{op:24s} {us / CALLS / 1000:6.2f} ms  {us / total * 100:5.1f} %")
print(f"{'total':24s} {total / CALLS / 1000:6.2f} ms")
for name, us in by_conv.most_common(20):
    print(f"{name[:72]:72s} {us / CALLS / 1000:6.3f} ms")
