"""Run 21: CPU and wall ms a call of quality's network alone on ONNX Runtime, a random 320x192 input (a 16:9 frame at
320 px), the fp32 file against the int8 file, one and two threads, interleaved, two rounds of 40 calls.

    python docs/benchmark-results/cpu-2core-run21/network_cpu.py
"""
import time

import numpy as np
import onnxruntime as ort

FILES = {"fp32": "goselfies/assets/models/quality.onnx", "int8": "goselfies/assets/models/quality.int8.onnx"}
x = np.random.default_rng(0).random((1, 3, 192, 320), dtype=np.float32)


def call(path, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return lambda: session.run(None, {"image": x})


calls = {f"{kind} {t} thread{'s' if t > 1 else ''}": call(path, t) for kind, path in FILES.items() for t in (1, 2)}
for r in range(2):
    for name, c in calls.items():
        for _ in range(5):
            c()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(40):
            c()
        print(f"round {r + 1} {name}: {(time.process_time() - cpu) * 25:.2f} ms CPU, "
              f"{(time.perf_counter() - wall) * 25:.2f} ms wall a call", flush=True)
