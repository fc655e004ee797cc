"""What the numbers were measured on: CPU, cores, GPU, memory, library versions and the load.

Speed numbers without the machine are meaningless; the load average before and after the run tells a
reader whether other work shared the cores (a busy machine makes every number slower).
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from typing import Any


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine_info(device: str) -> dict[str, Any]:
    """A JSON-able description of this machine and the libraries the benchmark used."""
    from goselfies.engine.segmenter import cuda_available
    from goselfies.extras import available

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable_cores(),
        "memory_gb": _memory_gb(),
        "device": device,
        "load_average_start": load_average(),
        "versions": {
            name: _version(dist)
            for name, dist in [
                ("goselfies", "goselfies"), ("torch", "torch"), ("torchvision", "torchvision"),
                ("onnxruntime", "onnxruntime"), ("openvino", "openvino"), ("onnx", "onnx"), ("opencv", "opencv-python-headless"),
                ("numpy", "numpy"), ("segmentation-models-pytorch", "segmentation-models-pytorch"),
                ("timm", "timm"), ("mediapipe", "mediapipe"),
            ]
        },
    }
    if available("torch"):
        import torch

        info["torch_threads"] = torch.get_num_threads()
    if device.startswith("cuda") and cuda_available():
        props = torch.cuda.get_device_properties(0)
        info["gpu"] = props.name
        info["gpu_memory_gb"] = round(props.total_memory / 1024**3, 1)
        info["cuda"] = torch.version.cuda
        info["cudnn"] = torch.backends.cudnn.version()
    return info


def describe(info: dict[str, Any]) -> str:
    """One line for the terminal."""
    v = info["versions"]
    hw = info.get("gpu") or f"{info['cpu']} ({info['usable_cores']} cores)"
    libs = ", ".join(f"{k} {val}" for k, val in v.items() if val and k in ("torch", "onnxruntime", "opencv", "mediapipe"))
    load = info.get("load_average_start")
    return f"{hw}; {libs}; load average at start {load[0] if load else '?'}"
