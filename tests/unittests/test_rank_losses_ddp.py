"""RankNContrastLoss under DistributedDataParallel equals one whole process.

Two CPU processes (gloo backend) each hold part of a fixed global batch of 8
pairs with (valence, arousal) labels, either 4 + 4 or 5 + 3 items, run a tiny
dual encoder wrapped in DistributedDataParallel and back-propagate the loss.
The mean over processes of the returned losses equals the loss of one process
holding all 8 pairs, and the DDP-averaged gradients equal that process'
gradients, for both similarities and with / without the paired candidate.
"""

from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from speechbrain_style.nnet.rank_losses import RankNContrastLoss

WORLD_SIZE = 2
TOLERANCE = 1e-6
SPLITS = {"equal": (0, 4, 8), "unequal": (0, 5, 8)}
CASES = [
    ("equal", "cosine", False),
    ("unequal", "cosine", False),
    ("equal", "neg_l2", False),
    ("unequal", "neg_l2", False),
    ("unequal", "cosine", True),
]


def _global_batch():
    """Fixed global batch: 8 pairs of inputs and (valence, arousal) labels."""
    generator = torch.Generator().manual_seed(321)
    speech_x = torch.randn(8, 6, generator=generator, dtype=torch.float64)
    text_x = torch.randn(8, 5, generator=generator, dtype=torch.float64)
    # a coarse grid, so that label-distance ties occur
    labels = torch.randint(1, 6, (8, 2), generator=generator).double()
    return speech_x, text_x, labels


class TinyDualEncoder(nn.Module):
    """Linear speech and text "encoders"."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.speech = nn.Linear(6, 4).double()
        self.text = nn.Linear(5, 4).double()

    def forward(self, speech_x, text_x):
        """Returns the (unnormalised) embeddings."""
        return self.speech(speech_x), self.text(text_x)


def _run_case(split, similarity, paired, rank=0, distributed=False):
    """Loss and parameter gradients for this process' share of the batch."""
    speech_x, text_x, labels = _global_batch()
    rows = slice(0, 8)
    if distributed:
        bounds = SPLITS[split]
        rows = slice(bounds[rank], bounds[rank + 1])
    model = TinyDualEncoder()
    module = model
    if distributed:
        model = DistributedDataParallel(model)
    speech, text = model(speech_x[rows], text_x[rows])
    loss_fn = RankNContrastLoss(
        temperature=0.7, similarity=similarity, include_paired=paired
    )
    loss = loss_fn(speech, text, labels[rows])
    loss.backward()
    grads = {
        name: param.grad.detach().clone()
        for name, param in module.named_parameters()
    }
    return {"loss": loss.item(), "grads": grads}


def _worker(rank, sync_file, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"file://{sync_file}",
        rank=rank,
        world_size=WORLD_SIZE,
    )
    try:
        results = {
            case: _run_case(*case, rank=rank, distributed=True)
            for case in CASES
        }
        # gather=False: the loss of this rank's pairs alone
        start, stop = (0, 5) if rank == 0 else (5, 8)
        speech_x, text_x, labels = _global_batch()
        speech, text = TinyDualEncoder()(
            speech_x[start:stop], text_x[start:stop]
        )
        results["local_only"] = (
            RankNContrastLoss()(speech, text, labels[start:stop], gather=False)
            .detach()
            .item()
        )
        torch.save(results, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory):
    """Runs the 2-process workers once; returns each rank's saved results."""
    folder = tmp_path_factory.mktemp("rnc_ddp")
    mp.spawn(
        _worker,
        args=(str(folder / "sync"), str(folder)),
        nprocs=WORLD_SIZE,
        join=True,
    )
    return [
        torch.load(folder / f"rank{rank}.pt", weights_only=False)
        for rank in range(WORLD_SIZE)
    ]


def test_ddp_loss_and_gradients_equal_single_process(rank_results):
    for case in CASES:
        reference = _run_case(*case)
        mean_loss = sum(r[case]["loss"] for r in rank_results) / WORLD_SIZE
        assert abs(mean_loss - reference["loss"]) < TOLERANCE, case
        for rank, result in enumerate(rank_results):
            grads = result[case]["grads"]
            assert grads.keys() == reference["grads"].keys()
            for name, expected in reference["grads"].items():
                assert expected.abs().max() > 1e-4, (case, name)
                difference = (grads[name] - expected).abs().max().item()
                assert difference < TOLERANCE, (case, rank, name, difference)
    # with unequal shares a rank does not return the mean of its own terms
    assert (
        abs(rank_results[0][CASES[1]]["loss"] - _run_case(*CASES[1])["loss"])
        > 1e-3
    )


def test_ddp_gather_false_is_local_loss(rank_results):
    speech_x, text_x, labels = _global_batch()
    for rank, rows in enumerate((slice(0, 5), slice(5, 8))):
        speech, text = TinyDualEncoder()(speech_x[rows], text_x[rows])
        expected = RankNContrastLoss()(speech, text, labels[rows]).item()
        assert abs(rank_results[rank]["local_only"] - expected) < TOLERANCE
