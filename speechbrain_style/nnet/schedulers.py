"""Learning-rate schedules built from torch's schedulers.

``warmup_cosine_scheduler``: linear warm-up, half-cosine decay, then a
constant floor (the text-audio retrieval baseline's schedule), as chained
torch schedulers stepped once per optimizer step (see
``StyleRetrievalBrain.make_lr_schedulers``).

Authors
 * speechbrain-style contributors 2026
"""

import sys


def warmup_cosine_scheduler(
    optimizer,
    steps_per_epoch,
    warmup_epochs=1.0,
    rampdown_stop_epoch=15.0,
    min_lr=1e-7,
):
    """The seed's learning-rate schedule, as torch schedulers.

    With ``W = warmup_epochs * steps_per_epoch`` and ``S =
    rampdown_stop_epoch * steps_per_epoch`` optimizer steps (rounded), and
    ``lr`` the optimizer's learning rate: optimizer step ``n`` (from 1)
    uses ``lr * n / W`` while ``n <= W`` (linear warm-up, ``LinearLR``),
    then a half cosine from ``lr`` to ``min_lr`` reached at step ``S``
    (``CosineAnnealingLR``), then ``min_lr`` (``ConstantLR``), chained by
    ``SequentialLR``. That is the seed's ``lr(e)`` at the fractional epoch
    ``e = n / steps_per_epoch``. ``StyleRetrievalBrain.make_lr_schedulers``
    builds it for an optimizer (yaml: ``!name:...``), steps it once per
    optimizer step (so ``steps_per_epoch`` counts optimizer steps: batches
    divided by ``grad_accumulation_factor``) and checkpoints it.

    Arguments
    ---------
    optimizer : torch.optim.Optimizer
        The optimizer; its ``lr`` is the peak learning rate (the seed: 2e-5).
    steps_per_epoch : int
        Optimizer steps per epoch.
    warmup_epochs : float
        Linear warm-up length.
    rampdown_stop_epoch : float
        End of the cosine decay.
    min_lr : float
        Final learning rate.

    Returns
    -------
    torch.optim.lr_scheduler.SequentialLR

    Example
    -------
    >>> import torch
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    >>> sched = warmup_cosine_scheduler(opt, 2, 1, 3, min_lr=0.0)
    >>> lrs = []
    >>> for _ in range(8):
    ...     lrs.append(round(opt.param_groups[0]["lr"], 3))
    ...     opt.step()
    ...     sched.step()
    >>> lrs
    [0.5, 1.0, 0.854, 0.5, 0.146, 0.0, 0.0, 0.0]
    """
    from torch.optim.lr_scheduler import (
        ConstantLR,
        CosineAnnealingLR,
        LinearLR,
        SequentialLR,
    )

    if not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
        raise ValueError(
            f"steps_per_epoch must be a positive int, got {steps_per_epoch!r}"
        )
    if warmup_epochs < 0 or rampdown_stop_epoch < warmup_epochs:
        raise ValueError(
            "Expected 0 <= warmup_epochs <= rampdown_stop_epoch, got "
            f"{warmup_epochs} and {rampdown_stop_epoch}"
        )
    peak = optimizer.param_groups[0]["lr"]
    if not peak > 0 or not 0 <= min_lr <= peak:
        raise ValueError(
            f"Expected 0 <= min_lr <= lr and lr > 0, got min_lr={min_lr} and "
            f"the optimizer's lr={peak}"
        )
    warmup = round(warmup_epochs * steps_per_epoch)
    stop = max(round(rampdown_stop_epoch * steps_per_epoch), warmup)
    schedulers, milestones = [], []
    start = 0  # scheduler step (optimizer steps done) where a phase begins
    if warmup > 1:
        # after t steps: lr * (t + 1) / W, the peak after W - 1 steps
        schedulers.append(
            LinearLR(optimizer, 1.0 / warmup, 1.0, total_iters=warmup - 1)
        )
        start = warmup - 1
    if stop > max(warmup, 1):
        if schedulers:
            milestones.append(start)
        schedulers.append(
            CosineAnnealingLR(optimizer, T_max=stop - warmup, eta_min=min_lr)
        )
        start += stop - warmup
    if schedulers:
        milestones.append(start)
    # min_lr for ever after the rampdown
    schedulers.append(
        ConstantLR(optimizer, factor=min_lr / peak, total_iters=sys.maxsize)
    )
    return SequentialLR(optimizer, schedulers, milestones=milestones)
