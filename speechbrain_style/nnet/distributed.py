"""Autograd-aware gathering of a batch over distributed processes.

Under DistributedDataParallel each process holds part of the global batch;
a contrastive loss needs every process' embeddings. ``gather_with_grad``
all-gathers with gradients flowing back to each process' own rows
(``torch.distributed.nn.all_gather``), ``gather_no_grad`` gathers labels.
Both accept different batch sizes per process (rows are padded for the
collective and trimmed after).

Authors
 * speechbrain-style contributors 2026
"""

import torch


def world_size_and_rank():
    """Returns (world_size, rank), (1, 0) when not distributed.

    Returns
    -------
    tuple of int
    """
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def _gather_shapes(x):
    """All-gathers the shape of ``x`` and checks that trailing dims agree.

    Returns the list of per-rank sizes along dim 0.
    """
    world_size, _ = world_size_and_rank()
    shape = torch.tensor(x.shape, dtype=torch.long, device=x.device)
    shapes = [torch.zeros_like(shape) for _ in range(world_size)]
    torch.distributed.all_gather(shapes, shape)
    shapes = [tuple(int(v) for v in s) for s in shapes]
    if any(s[1:] != shapes[0][1:] for s in shapes):
        raise ValueError(
            "All processes must gather tensors with the same trailing "
            f"dimensions, got shapes {shapes}"
        )
    return [s[0] for s in shapes]


def _pad_rows(x, num_rows):
    """Pads ``x`` with zero rows along dim 0 up to ``num_rows`` rows."""
    missing = num_rows - x.shape[0]
    if missing == 0:
        return x.contiguous()
    padding = x.new_zeros((missing, *x.shape[1:]))
    return torch.cat([x, padding], dim=0)


def gather_with_grad(x):
    """Concatenates ``x`` over all processes, keeping the autograd graph.

    Uses :func:`torch.distributed.nn.functional.all_gather`, whose backward
    pass sums, for each process, the gradients that every process computed
    for that process' rows. Processes may hold different numbers of rows:
    sizes are gathered first, rows are zero-padded to the largest size,
    gathered, and the padding is stripped.

    When torch.distributed is not initialised or has a single process,
    ``x`` is returned unchanged.

    Arguments
    ---------
    x : torch.Tensor
        Tensor of shape (N_rank, ...); trailing dims equal on all processes.

    Returns
    -------
    gathered : torch.Tensor
        Shape (N_total, ...), the rows of process 0, then process 1, ...
    offset : int
        Index of this process' first row in ``gathered``.

    Example
    -------
    >>> x = torch.ones(3, 2, requires_grad=True)
    >>> gathered, offset = gather_with_grad(x)
    >>> gathered is x, offset
    (True, 0)
    """
    world_size, rank = world_size_and_rank()
    if world_size == 1:
        return x, 0
    from torch.distributed.nn.functional import all_gather

    sizes = _gather_shapes(x)
    parts = all_gather(_pad_rows(x, max(sizes)))
    gathered = torch.cat(
        [part[:size] for part, size in zip(parts, sizes, strict=True)], dim=0
    )
    return gathered, sum(sizes[:rank])


def gather_no_grad(x):
    """Concatenates ``x`` over all processes, without autograd.

    Meant for labels (integer tensors). Same padding logic and return values
    as :func:`gather_with_grad`.

    Arguments
    ---------
    x : torch.Tensor
        Tensor of shape (N_rank, ...).

    Returns
    -------
    gathered : torch.Tensor
        Shape (N_total, ...).
    offset : int
        Index of this process' first row in ``gathered``.

    Example
    -------
    >>> labels = torch.tensor([3, 1, 3])
    >>> gathered, offset = gather_no_grad(labels)
    >>> gathered.tolist(), offset
    ([3, 1, 3], 0)
    """
    world_size, rank = world_size_and_rank()
    if world_size == 1:
        return x, 0
    sizes = _gather_shapes(x)
    padded = _pad_rows(x.detach(), max(sizes))
    parts = [torch.empty_like(padded) for _ in range(world_size)]
    torch.distributed.all_gather(parts, padded)
    gathered = torch.cat(
        [part[:size] for part, size in zip(parts, sizes, strict=True)], dim=0
    )
    return gathered, sum(sizes[:rank])
