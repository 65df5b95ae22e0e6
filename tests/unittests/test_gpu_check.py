"""scripts/gpu_check.sh skips cleanly and quickly on a machine without CUDA."""

import os
import subprocess
import time

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "gpu_check.sh")


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="a CUDA device: the check would run"
)
def test_gpu_check_skips_without_cuda(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    start = time.monotonic()
    proc = subprocess.run(
        ["bash", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    assert "no CUDA device found" in proc.stdout
    assert "| check |" not in proc.stdout  # nothing ran, no table
    assert elapsed < 60
