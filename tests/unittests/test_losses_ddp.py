"""InfoNCELoss under DistributedDataParallel equals one whole-batch process.

Two CPU processes (gloo backend) each hold part of a fixed global batch of 8
pairs, either 4 + 4 or 5 + 3 items, run a tiny dual encoder wrapped in real
DistributedDataParallel, and back-propagate the loss. The loss of one process
holding all 8 pairs is the mean over processes of the returned losses, and
the DDP-averaged gradients of every parameter (temperature included) equal
the gradients of that single process, for equal and unequal shares, with and
without labels.
"""

from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from speechbrain_style.nnet.distributed import gather_no_grad, gather_with_grad
from speechbrain_style.nnet.losses import InfoNCELoss, LearnableLogitScale

WORLD_SIZE = 2
TOLERANCE = 1e-6
SPLITS = {"equal": (0, 4, 8), "unequal": (0, 5, 8)}
CASES = [
    (split, labelled) for split in SPLITS for labelled in ("plain", "labels")
]


def _global_batch():
    """Fixed global batch: 8 pairs of inputs and (emotion, gender) labels."""
    generator = torch.Generator().manual_seed(123)
    speech_x = torch.randn(8, 6, generator=generator, dtype=torch.float64)
    text_x = torch.randn(8, 5, generator=generator, dtype=torch.float64)
    speech_labels = torch.tensor(
        [[0, 0], [1, 1], [0, 1], [2, 0], [1, 1], [0, 0], [2, 1], [1, 0]]
    )
    # descriptions that do not mention a factor use -1 (wildcard)
    text_labels = speech_labels.clone()
    text_labels[1, 1] = -1
    text_labels[4, 0] = -1
    text_labels[6] = -1
    return speech_x, text_x, speech_labels, text_labels


class TinyDualEncoder(nn.Module):
    """Linear speech and text "encoders" and a learnable temperature."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.speech = nn.Linear(6, 4).double()
        self.text = nn.Linear(5, 4).double()
        self.temperature = LearnableLogitScale(init_temperature=0.2).double()

    def forward(self, speech_x, text_x):
        """Returns L2-normalised embeddings and the logit scale."""
        speech = F.normalize(self.speech(speech_x), dim=1)
        text = F.normalize(self.text(text_x), dim=1)
        return speech, text, self.temperature()


def _run_case(split, labelled, rank=0, distributed=False):
    """Loss and parameter gradients for this process' share of the batch."""
    speech_x, text_x, speech_labels, text_labels = _global_batch()
    if distributed:
        bounds = SPLITS[split]
        rows = slice(bounds[rank], bounds[rank + 1])
    else:
        rows = slice(0, 8)
    model = TinyDualEncoder()
    module = model
    if distributed:
        model = DistributedDataParallel(model)
    speech, text, scale = model(speech_x[rows], text_x[rows])
    labels = ()
    if labelled == "labels":
        labels = (speech_labels[rows], text_labels[rows])
    loss = InfoNCELoss()(speech, text, scale, *labels)
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
        results = {}
        for split, labelled in CASES:
            results[(split, labelled)] = _run_case(
                split, labelled, rank, distributed=True
            )
        # gather helpers with unequal shares: 5 rows on rank 0, 3 on rank 1
        start, stop = (0, 5) if rank == 0 else (5, 8)
        values = torch.arange(16, dtype=torch.float64).reshape(8, 2)
        local = values[start:stop].clone().requires_grad_(True)
        gathered, offset = gather_with_grad(local)
        # d/d(local) of sum(gathered * weights) summed over both ranks
        weights = torch.arange(1, 9, dtype=torch.float64).unsqueeze(1)
        (gathered * weights).sum().backward()
        labels, label_offset = gather_no_grad(torch.arange(start, stop) * 10)
        results["gather"] = {
            "gathered": gathered.detach(),
            "offset": offset,
            "grad": local.grad,
            "labels": labels,
            "label_offset": label_offset,
        }
        # gather_distributed=False: plain local loss
        speech_x, text_x, _, _ = _global_batch()
        model = TinyDualEncoder()
        speech, text, scale = model(speech_x[start:stop], text_x[start:stop])
        results["local_only"] = InfoNCELoss(gather_distributed=False)(
            speech, text, scale
        ).item()
        torch.save(results, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _assert_grads_close(actual, expected, what):
    assert actual.keys() == expected.keys()
    for name in expected:
        difference = (actual[name] - expected[name]).abs().max().item()
        assert difference < TOLERANCE, f"{what}: {name} differs by {difference}"


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory):
    """Runs the 2-process workers once; returns each rank's saved results."""
    folder = tmp_path_factory.mktemp("ddp")
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
    ranks = rank_results
    for split, labelled in CASES:
        reference = _run_case(split, labelled)
        assert reference["grads"]["temperature.log_logit_scale"].abs() > 0
        rank_losses = [result[(split, labelled)]["loss"] for result in ranks]
        mean_loss = sum(rank_losses) / WORLD_SIZE
        assert abs(mean_loss - reference["loss"]) < TOLERANCE, (split, labelled)
        for rank, result in enumerate(ranks):
            _assert_grads_close(
                result[(split, labelled)]["grads"],
                reference["grads"],
                f"{split}/{labelled}/rank{rank}",
            )
    # the label-aware loss differs from the plain one on this batch
    plain = _run_case("equal", "plain")["loss"]
    labelled = _run_case("equal", "labels")["loss"]
    assert abs(plain - labelled) > 1e-3
    # with unequal shares, each rank returns sum(rows) * 2 / 8, not its mean
    assert abs(ranks[0][("unequal", "plain")]["loss"] - plain) > 1e-3


def test_ddp_gather_helpers_handle_unequal_sizes(rank_results):
    values = torch.arange(16, dtype=torch.float64).reshape(8, 2)
    for rank in range(WORLD_SIZE):
        result = rank_results[rank]
        gather = result["gather"]
        assert torch.equal(gather["gathered"], values)
        assert gather["offset"] == (0 if rank == 0 else 5)
        assert gather["label_offset"] == gather["offset"]
        assert gather["labels"].tolist() == [0, 10, 20, 30, 40, 50, 60, 70]
        # both ranks back-propagate weights[i] into row i: the gradient of
        # a rank's rows is the sum over ranks, i.e. 2 * weights of its rows
        rows = slice(0, 5) if rank == 0 else slice(5, 8)
        weights = torch.arange(1, 9, dtype=torch.float64)[rows]
        expected = (2 * weights).unsqueeze(1).expand(-1, 2)
        assert torch.equal(gather["grad"], expected)
        # gather_distributed=False: the loss of this rank's pairs alone
        speech_x, text_x, _, _ = _global_batch()
        model = TinyDualEncoder()
        speech, text, scale = model(speech_x[rows], text_x[rows])
        expected_local = InfoNCELoss()(speech, text, scale).item()
        assert abs(result["local_only"] - expected_local) < TOLERANCE
