"""Peak memory of the evaluation metrics at the recipes' real set sizes.

The modality gap of the dimensional recipes is computed on up to
``max_gap_items: 2000`` items of 512-d embeddings; pairwise metrics that
build (N, M, D) arrays need 15-61 GB there. Each measurement runs in a fresh
subprocess: the growth of its peak resident set size during the call (the
high-water mark ``VmHWM``, reset right before it) over the resident size
before the call is an upper bound of the memory the call used. The
subprocess caps its address space a few GB above what it has, so a
regression fails with a MemoryError instead of exhausting the machine.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

# Extra memory allowed for any one metric call at N = M = 2,000, D = 512:
# the inputs alone are 8 MB each; the (N, M) matrices 32 MB; the median
# heuristic's (N + M)(N + M - 1) / 2 distances 64 MB.
LIMIT_MB = 400

SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    import torch

    from speechbrain_style.evaluation.dimensional import DimensionalEvaluator
    from speechbrain_style.evaluation.ordinal import (
        median_heuristic_bandwidth,
        mmd_rbf,
        wasserstein_distance_embeddings,
    )

    def status_kb(key):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])

    n, dim = 2000, 512
    rng = np.random.default_rng(0)
    speech = rng.standard_normal((n, dim))
    speech /= np.linalg.norm(speech, axis=1, keepdims=True)
    text = rng.standard_normal((n, dim)) + 0.1
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    evaluator = DimensionalEvaluator(banks=["train"], max_gap_items=n)
    items = [{"id": f"u{i:05d}"} for i in range(n)]
    values = {
        "valence": rng.uniform(1, 7, n).round(1),
        "arousal": rng.uniform(1, 7, n).round(1),
    }
    text_tensor = torch.from_numpy(text).float()

    def encode_texts(texts):  # the paired descriptions, already embedded
        assert len(texts) == n
        return text_tensor

    calls = {
        "median_heuristic": lambda: median_heuristic_bandwidth(speech, text),
        "mmd_rbf": lambda: mmd_rbf(speech, text),
        "wasserstein_exact": lambda: wasserstein_distance_embeddings(
            speech, text
        ),
        "wasserstein_sliced": lambda: wasserstein_distance_embeddings(
            speech, text, method="sliced"
        ),
        "modality_gap": lambda: evaluator.modality_gap(
            torch.from_numpy(speech).float(), items, values, "train",
            encode_texts,
        ),
    }
    call = calls[sys.argv[1]]
    # safety net: a regression raises MemoryError here, it cannot take
    # the machine's memory
    cap = (status_kb("VmSize") + 3 * 1024 * 1024) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    before = status_kb("VmRSS")
    # reset the high-water mark: the peak of the call alone, not of the
    # imports before it
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    result = call()
    peak = status_kb("VmHWM")
    print(json.dumps({
        "extra_mb": (peak - before) / 1024,
        "result": result if isinstance(result, dict) else float(result),
    }))
    """
)


def _measure(name):
    """Runs one metric in a fresh interpreter; returns its JSON report."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(
        [root, env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, name],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "name",
    [
        "median_heuristic",
        "mmd_rbf",
        "wasserstein_exact",
        "wasserstein_sliced",
        "modality_gap",
    ],
)
def test_metric_peak_memory_at_real_sizes(name):
    report = _measure(name)
    assert report["extra_mb"] < LIMIT_MB, report
    result = report["result"]
    values = result.values() if isinstance(result, dict) else [result]
    # random unit vectors in 512-d: the sets differ, every value is > 0
    assert all(v > 0 for v in values), report
