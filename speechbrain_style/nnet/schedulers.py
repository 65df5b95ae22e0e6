"""Learning-rate schedules of speechbrain-style's recipes.

* :class:`WarmupCosineScheduler`: the text-audio retrieval dual encoder's
  per-step schedule (linear warm-up, half-cosine decay, then a floor),
  stepped once per optimizer step by the Clotho and AudioCaps recipes;
* :func:`batches_per_epoch`: the number of training batches one process
  sees per epoch, which per-step schedules need.

Authors
 * speechbrain-style contributors 2026
"""

import math
import os

import torch
from speechbrain.utils import checkpoints


def batches_per_epoch(num_items, loader_opts, world_size=None):
    """Training batches per epoch and process.

    Under DDP each of the ``WORLD_SIZE`` processes sees its share of the
    training set; the last incomplete batch counts unless the loader drops
    it.

    Arguments
    ---------
    num_items : int
        Items of the training set.
    loader_opts : dict
        The training dataloader options (``batch_size``, ``drop_last``).
    world_size : int, optional
        Number of processes (default: the ``WORLD_SIZE`` environment
        variable, else 1).

    Returns
    -------
    int
        At least 1.

    Example
    -------
    >>> batches_per_epoch(100, {"batch_size": 32, "drop_last": True}, 1)
    3
    >>> batches_per_epoch(100, {"batch_size": 32}, 1)
    4
    >>> batches_per_epoch(100, {"batch_size": 32, "drop_last": True}, 2)
    1
    """
    if world_size is None:
        world_size = int(os.environ.get("WORLD_SIZE", 1))
    batch_size = loader_opts.get("batch_size", 1)
    if not batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    per_process = num_items / world_size
    if loader_opts.get("drop_last", False):
        batches = per_process // batch_size
    else:
        batches = math.ceil(per_process / batch_size)
    return max(1, int(batches))


@checkpoints.register_checkpoint_hooks
class WarmupCosineScheduler:
    """The seed's learning-rate schedule, stepped once per training batch.

    With ``e`` the fractional epoch (steps done / ``steps_per_epoch``):
    ``lr = value * e / warmup_epochs`` during warm-up; then a half cosine
    from ``value`` (at ``warmup_epochs``) to ``min_value`` (at
    ``rampdown_stop_epoch``); then ``min_value``.

    Arguments
    ---------
    initial_value : float
        Peak learning rate (the seed: 2e-5).
    warmup_epochs : float
        Linear warm-up length.
    rampdown_stop_epoch : float
        End of the cosine decay.
    min_value : float
        Final learning rate.
    steps_per_epoch : int, optional
        Batches per epoch; the recipe sets it from the data
        (:func:`batches_per_epoch`).

    Example
    -------
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    >>> sched = WarmupCosineScheduler(1.0, 1, 3, 0.0, steps_per_epoch=2)
    >>> lrs = []
    >>> for _ in range(8):
    ...     _ = sched(opt)
    ...     lrs.append(round(opt.param_groups[0]["lr"], 3))
    >>> lrs
    [0.5, 1.0, 0.854, 0.5, 0.146, 0.0, 0.0, 0.0]
    """

    def __init__(
        self,
        initial_value,
        warmup_epochs=1.0,
        rampdown_stop_epoch=15.0,
        min_value=1e-7,
        steps_per_epoch=None,
    ):
        if not initial_value > 0 or min_value < 0:
            raise ValueError(
                "initial_value must be > 0 and min_value >= 0, got "
                f"{initial_value} and {min_value}"
            )
        if warmup_epochs < 0 or rampdown_stop_epoch < warmup_epochs:
            raise ValueError(
                "Expected 0 <= warmup_epochs <= rampdown_stop_epoch, got "
                f"{warmup_epochs} and {rampdown_stop_epoch}"
            )
        self.initial_value = initial_value
        self.warmup_epochs = warmup_epochs
        self.rampdown_stop_epoch = rampdown_stop_epoch
        self.min_value = min_value
        self.steps_per_epoch = steps_per_epoch
        self.step = 0

    def value_at(self, epoch):
        """Learning rate at a fractional epoch."""
        if epoch < self.warmup_epochs:
            return self.initial_value * epoch / self.warmup_epochs
        if epoch < self.rampdown_stop_epoch:
            progress = (epoch - self.warmup_epochs) / (
                self.rampdown_stop_epoch - self.warmup_epochs
            )
            return self.min_value + (self.initial_value - self.min_value) * (
                0.5 * (1.0 + math.cos(math.pi * progress))
            )
        return self.min_value

    def __call__(self, optimizer):
        """Advances one step and sets the learning rate of ``optimizer``."""
        if not self.steps_per_epoch:
            raise ValueError(
                "WarmupCosineScheduler.steps_per_epoch is not set (batches "
                "per epoch)"
            )
        self.step += 1
        lr = self.value_at(self.step / self.steps_per_epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    @checkpoints.mark_as_saver
    def save(self, path):
        """Saves the step count."""
        torch.save({"step": self.step}, path)

    @checkpoints.mark_as_loader
    def load(self, path, end_of_epoch=False):
        """Restores the step count."""
        del end_of_epoch
        self.step = int(torch.load(path)["step"])
