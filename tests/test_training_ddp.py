"""Multi-process training: ``torchrun`` with 2 CPU processes on the gloo backend (DDP)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_training import make_pairs

REPO = Path(__file__).resolve().parents[1]


def test_torchrun_two_cpu_processes_gloo(data_dir, tmp_path):
    torch = pytest.importorskip("torch")
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("this torch build has no gloo backend")
    data = make_pairs(data_dir, tmp_path / "data", 6)
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "goselfies", "train", "--data", str(data), "--model", "lite", "--size", "64",
           "--epochs", "2", "--batch", "2", "--max-steps", "1", "--device", "cpu",
           "--freeze-encoder-epochs", "1", "--out", str(run)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "distributed: 2 processes (gloo)" in proc.stderr
    assert proc.stdout.count("epoch=1 ") == 1 and proc.stdout.count("epoch=2 ") == 1  # rank 0 reports alone
    assert proc.stdout.count("best: epoch") == 1 and proc.stdout.count("weights: ") == 1  # the summary too
    ck = torch.load(run / "last.pt", weights_only=True)
    assert ck["epoch"] == 2 and ck["step"] == 2
    assert (run / "lite.safetensors").is_file() and (run / "log.csv").is_file()
