"""benchmarks/rehearsal.py runs end to end (tiny sizes, one recipe)."""

import json
import math
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def test_rehearsal_tiny_runs_every_phase(tmp_path):
    env = dict(
        os.environ,
        PYTHONPATH=ROOT,
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "benchmarks", "rehearsal.py"),
            "--tiny",
            "--recipes",
            "esd_roberta",
            "--device",
            "cpu",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "| esd_roberta |" in proc.stdout
    (row,) = [
        json.loads(line)
        for line in (tmp_path / "results.jsonl").read_text().splitlines()
    ]
    train = row["train"]
    assert train["batch_size"] == 2 and train["crop_seconds"] == 0.5
    assert len(train["step_seconds"]) == 2
    assert all(math.isfinite(loss) for loss in train["losses"])
    assert train["peak_rss_mb"] >= train["model_rss_mb"] > 0
    assert [s["items"] for s in row["valid"]["sets"]] == [40]
    assert [s["items"] for s in row["test"]["sets"]] == [60]
    # the test phase ran the real evaluator and wrote its results
    run = tmp_path / "runs" / "esd_roberta"
    assert (run / "retrieval_test.txt").exists()
    assert list((run / "trials").glob("trials_test_style.json"))
