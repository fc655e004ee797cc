"""Run 20: CPU ms a call of lite's network alone, one thread, a random 288x224 input: ONNX Runtime and OpenVINO on the
fp32 file (float16-stored weights) and on the int8 file, interleaved, two rounds of 100 calls.

    python docs/benchmark-results/cpu-2core-run20/network_cpu.py
"""
import time

import numpy as np
import onnxruntime as ort
import openvino as ov

FILES = {"fp32": "goselfies/assets/models/lite.onnx", "int8": "goselfies/assets/models/lite.int8.onnx"}
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


if __name__ == "__main__":  # run 23's script imports the two helpers above
    calls = {f"{runtime} {kind}": make(path) for kind, path in FILES.items()
             for runtime, make in (("ONNX Runtime", ort_call), ("OpenVINO", ov_call))}
    for r in range(2):
        for name, call in calls.items():
            for _ in range(10):
                call()
            t = time.process_time()
            for _ in range(100):
                call()
            print(f"round {r + 1} {name}: {(time.process_time() - t) * 10:.2f} ms CPU a call", flush=True)
