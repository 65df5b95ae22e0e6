"""Under DDP the evaluation's files are written once, by the main process.

Two CPU processes (gloo, ``init_method=file://``) run the same test-time
evaluation (``DimensionalEvaluator``: trial protocol for both dimensions,
similarity-vs-values plots) into one shared folder, as every rank does in
``StyleRetrievalBrain.on_stage_end``. Rank 0 starts late, so a rank that
does not wait for the main process finds no trials file and would draw and
write its own. Every process records, with a Python audit hook (the
interpreter's own events for ``open``, ``os.open`` and ``os.replace``, no
mock), which files under the folder it opens for writing or replaces.
Rank 1 must write nothing; rank 0 must write each trials file and plot
exactly once, through a unique temporary file replaced into place; both
ranks must get the same trials and metrics.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

WORLD_SIZE = 2
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND


def _encode(texts):
    """A deterministic toy text encoder (8-d unit vectors per text)."""
    out = []
    for text in texts:
        rng = np.random.default_rng(sum(map(ord, text)))
        out.append(rng.standard_normal(8))
    out = torch.tensor(np.array(out), dtype=torch.float32)
    return torch.nn.functional.normalize(out, dim=-1)


def _evaluate(folder):
    """The test-time evaluation every rank runs."""
    from speechbrain_style.evaluation.dimensional import DimensionalEvaluator

    rng = np.random.default_rng(0)
    values = rng.uniform(1, 7, (60, 2)).round(1)
    items = [
        {"id": f"u{i:03d}", "valence": float(v), "arousal": float(a)}
        for i, (v, a) in enumerate(values)
    ]
    speech = torch.nn.functional.normalize(
        torch.from_numpy(rng.standard_normal((60, 8))).float(), dim=-1
    )
    evaluator = DimensionalEvaluator(
        banks=["train"],
        max_gap_items=20,
        plot_folder=str(folder / "plots"),
        trials_folder=str(folder / "trials"),
        num_trials=25,
        num_distractors=10,
    )
    return evaluator.evaluate(speech, items, _encode, trials=True)


def _worker(rank, sync_file, folder, out_dir):
    os.environ.update(
        RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD_SIZE)
    )
    torch.set_num_threads(1)
    folder = Path(folder).resolve()
    writes = []

    def audit(event, args):
        """Records writes under ``folder`` (audit events of the runtime)."""
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and set(mode) & set("wax+")) or (
                mode is None and isinstance(flags, int) and flags & WRITE_FLAGS
            )
            if writing and isinstance(path, (str, os.PathLike)):
                if str(Path(path).resolve()).startswith(str(folder)):
                    writes.append(["open", str(Path(path).resolve())])
        elif event == "os.rename":  # os.rename and os.replace
            dst = Path(os.fspath(args[1])).resolve()
            if str(dst).startswith(str(folder)):
                writes.append(["replace", str(dst)])

    dist.init_process_group(
        "gloo",
        init_method=f"file://{sync_file}",
        rank=rank,
        world_size=WORLD_SIZE,
    )
    try:
        sys.addaudithook(audit)
        if rank == 0:
            time.sleep(1.5)  # rank 1 reaches the evaluation first
        results = _evaluate(folder)
        summary = results["summary"]["train"]
        record = {
            "writes": writes,
            "summary": {k: v for k, v in summary.items() if "trial" in k},
            "plots": sorted(results["plots"].values()),
        }
        with open(Path(out_dir) / f"rank{rank}.json", "w") as fout:
            json.dump(record, fout)
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason="no torch.distributed")
def test_evaluation_files_are_written_once_by_the_main_process(tmp_path):
    folder = tmp_path / "shared"
    out_dir = tmp_path / "out"
    folder.mkdir()
    out_dir.mkdir()
    mp.spawn(
        _worker,
        args=(str(tmp_path / "sync"), str(folder), str(out_dir)),
        nprocs=WORLD_SIZE,
        join=True,
    )
    ranks = [
        json.loads((out_dir / f"rank{r}.json").read_text())
        for r in range(WORLD_SIZE)
    ]
    assert ranks[1]["writes"] == [], "rank 1 wrote files"
    trials = sorted(str(p.resolve()) for p in folder.glob("trials/*.json"))
    plots = sorted(str(p.resolve()) for p in folder.glob("plots/*.png"))
    assert len(trials) == 2 and len(plots) == 2  # valence and arousal
    replaced = [path for kind, path in ranks[0]["writes"] if kind == "replace"]
    # each final file replaced into place exactly once, by rank 0
    assert sorted(replaced) == sorted(trials + plots)
    # writes went to temporary files (one per final file, created by
    # mkstemp and then written), never to a final name
    opened = {path for kind, path in ranks[0]["writes"] if kind == "open"}
    assert not opened & set(trials + plots)
    assert len(opened) == len(replaced)
    assert all(Path(path).name.startswith(".") for path in opened)
    # nothing left behind but the final files
    leftovers = [
        p for p in folder.rglob("*") if p.is_file() and p.name.startswith(".")
    ]
    assert leftovers == []
    # both ranks read the same trials: identical metrics, same plot paths
    assert ranks[0]["summary"] == ranks[1]["summary"]
    assert ranks[0]["summary"]  # the trial protocol ran
    assert ranks[0]["plots"] == ranks[1]["plots"] == plots
