"""Run 23: CPU ms a call of two `lite` networks alone (the shipped stage 8 and a candidate), one thread, a random
288x224 input: ONNX Runtime on the fp32 file (float16-stored weights) and on the int8 file, OpenVINO on the fp32 file;
interleaved, two rounds of 100 calls.

    python docs/benchmark-results/cpu-2core-run23/network_cpu.py CANDIDATE.onnx CANDIDATE.int8.onnx
"""
import sys
import time

import numpy as np
import onnxruntime as ort
import openvino as ov

x = np.random.default_rng(0).random((1, 3, 224, 288), dtype=np.float32)


def ort_call(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return lambda: session.run(None, {"image": x})


def ov_call(path):
    core = ov.Core()
    model = core.read_model(path)
    model.reshape([1, 3, 224, 288])
    request = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": 1, "NUM_STREAMS": 1}).create_infer_request()
    return lambda: request.infer({0: x})


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
