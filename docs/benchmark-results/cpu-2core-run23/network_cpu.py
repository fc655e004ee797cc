"""Run 23: CPU ms a call of two `lite` networks alone (the shipped stage 8 and a candidate), one thread, a random
288x224 input: ONNX Runtime on the fp32 file (float16-stored weights) and on the int8 file, OpenVINO on the fp32 file;
interleaved, two rounds of 100 calls.

    python docs/benchmark-results/cpu-2core-run23/network_cpu.py CANDIDATE.onnx CANDIDATE.int8.onnx
"""
import importlib.util
import sys
import time
from pathlib import Path

# run 20's helpers: an ONNX Runtime and an OpenVINO call of a file, one thread, on its random 288x224 input
spec = importlib.util.spec_from_file_location("run20", Path(__file__).parents[1] / "cpu-2core-run20" / "network_cpu.py")
run20 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run20)
ort_call, ov_call = run20.ort_call, run20.ov_call

files = {"stage 8": ("goselfies/assets/models/lite.onnx", "goselfies/assets/models/lite.int8.onnx"),
         "candidate": (sys.argv[1], sys.argv[2])}
calls = {}
for name, (fp32, int8) in files.items():
    calls[f"{name}, ONNX Runtime fp32"] = ort_call(fp32)
    calls[f"{name}, ONNX Runtime int8"] = ort_call(int8)
    calls[f"{name}, OpenVINO"] = ov_call(fp32)
for call in calls.values():
    for _ in range(10):
        call()
for r in range(2):
    for name, call in calls.items():
        start = time.process_time()
        for _ in range(100):
            call()
        print(f"round {r + 1}  {name:32s} {(time.process_time() - start) * 10:6.2f} ms")
