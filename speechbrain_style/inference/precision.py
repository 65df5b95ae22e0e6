"""Inference precision: int8 / bf16 arithmetic for CPU indexing and search.

On a CPU the arithmetic per second of audio of an encoder is fixed, so
batching alone cannot make indexing much faster (see the README,
"Performance"); a cheaper arithmetic can. Three precisions are offered:

* ``"fp32"``: the model as trained, unchanged (the default; bitwise the
  same results as code that knows nothing of this module);
* ``"bf16"``: ``torch.autocast`` with bfloat16 (matrix products and
  convolutions in bf16, reductions and normalisations kept in float32 by
  autocast's op lists). Fast on CPUs with bf16 instructions (AVX512-BF16,
  AMX); on others it is emulated and may be slower than fp32
  (:func:`cpu_has_bf16` tells);
* ``"int8"``: dynamic int8 quantisation of the ``nn.Linear`` (and LSTM /
  GRU) layers with ``torch.ao.quantization.quantize_dynamic``: int8
  weights, activations quantised per batch at run time, float32 output.
  PyTorch has no dynamic int8 convolution, so the ``Conv1d`` layers
  (ECAPA-TDNN, the convolutional front of emotion2vec, positional
  convolutions) stay float32: ``bf16`` is the precision that speeds those
  up. int8 runs on the CPU only.

:func:`prepare_for_precision` returns a module ready for one precision,
:func:`precision_context` the context its forward pass runs under, and
:func:`embedding_agreement` the quality guard (cosine between fp32 and
reduced-precision embeddings). :func:`count_flops` and
:func:`matmul_flops_per_second` give the arithmetic floor of a forward pass
(used by ``benchmarks/index_benchmark.py``).

Authors
 * speechbrain-style contributors 2026
"""

import copy
import time
import warnings
from contextlib import nullcontext

import torch
from torch import nn

__all__ = [
    "DEFAULT_PRECISION",
    "PRECISIONS",
    "add_precision_argument",
    "check_precision",
    "count_flops",
    "cpu_has_bf16",
    "embedding_agreement",
    "matmul_flops_per_second",
    "precision_context",
    "prepare_for_precision",
    "quantized_module_names",
]

PRECISIONS = ("fp32", "bf16", "int8")
DEFAULT_PRECISION = "fp32"
# Module types that dynamic int8 quantisation replaces.
INT8_MODULE_TYPES = (nn.Linear, nn.LSTM, nn.GRU)


def check_precision(precision, device="cpu"):
    """Validates a precision name for a device.

    Arguments
    ---------
    precision : str
        One of ``"fp32"``, ``"bf16"``, ``"int8"``.
    device : str
        The device the model runs on (``"cpu"``, ``"cuda:0"``, ...).

    Returns
    -------
    str
        The precision.

    Raises
    ------
    ValueError
        For an unknown name, or int8 on another device than the CPU.

    Example
    -------
    >>> check_precision("int8")
    'int8'
    >>> check_precision("fp16")
    Traceback (most recent call last):
    ...
    ValueError: precision must be one of ['fp32', 'bf16', 'int8'], got 'fp16'
    """
    if precision not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {list(PRECISIONS)}, got {precision!r}"
        )
    if precision == "int8" and not str(device).startswith("cpu"):
        raise ValueError(
            f"precision 'int8' (dynamic quantisation) runs on the CPU only, "
            f"not on {device!r}; use 'bf16' on a GPU"
        )
    return precision


def cpu_has_bf16():
    """Whether this CPU has bf16 matrix instructions (AVX512-BF16 or AMX).

    Without them oneDNN emulates bf16 and ``"bf16"`` may be slower than
    ``"fp32"``.

    Returns
    -------
    bool

    Example
    -------
    >>> isinstance(cpu_has_bf16(), bool)
    True
    """
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def quantized_module_names(module):
    """Names of the dynamically int8-quantised sub-modules of ``module``.

    Arguments
    ---------
    module : torch.nn.Module

    Returns
    -------
    list of str

    Example
    -------
    >>> model = nn.Sequential(nn.Conv1d(2, 4, 3), nn.Flatten(), nn.Linear(4, 2))
    >>> quantized_module_names(model)
    []
    >>> quantized_module_names(prepare_for_precision(model, "int8"))
    ['2']
    """
    return [
        name
        for name, sub in module.named_modules()
        if type(sub).__module__.startswith("torch.ao.nn.quantized.dynamic")
    ]


def prepare_for_precision(module, precision):
    """Returns ``module`` ready for inference at ``precision``.

    ``"fp32"`` and ``"bf16"`` return ``module`` itself, untouched (bf16 is
    applied by :func:`precision_context` around the forward pass).
    ``"int8"`` returns a quantised deep copy in eval mode (the original
    keeps its float32 weights): every ``nn.Linear``, ``nn.LSTM`` and
    ``nn.GRU`` becomes its dynamic int8 counterpart (per-tensor weights;
    activations quantised per batch); other layers are unchanged.

    Arguments
    ---------
    module : torch.nn.Module
        The model (on the CPU for int8).
    precision : str
        ``"fp32"``, ``"bf16"`` or ``"int8"``.

    Returns
    -------
    torch.nn.Module

    Example
    -------
    >>> torch.manual_seed(0)
    <torch._C.Generator object at ...>
    >>> model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 8))
    >>> prepare_for_precision(model, "fp32") is model
    True
    >>> int8 = prepare_for_precision(model, "int8")
    >>> type(int8[0]).__name__, type(model[0]).__name__
    ('Linear', 'Linear')
    >>> quantized_module_names(int8)
    ['0', '2']
    >>> x = torch.randn(16, 64)
    >>> cos = embedding_agreement(model(x), int8(x))
    >>> cos["min"] > 0.99
    True
    """
    check_precision(precision)
    if precision != "int8":
        return module
    devices = {p.device.type for p in module.parameters()}
    if devices - {"cpu"}:
        raise ValueError(
            f"precision 'int8' needs the model on the CPU, it is on "
            f"{sorted(devices)}"
        )
    quantized = copy.deepcopy(module).eval()
    with warnings.catch_warnings():
        # torch.ao.quantization warns of its future move to torchao; the
        # eager dynamic quantisation it provides is what runs here.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        from torch.ao.quantization import quantize_dynamic

        quantized = quantize_dynamic(
            quantized, set(INT8_MODULE_TYPES), dtype=torch.qint8
        )
    return quantized


def precision_context(precision, device_type="cpu"):
    """The context a forward pass at ``precision`` runs under.

    Arguments
    ---------
    precision : str
        ``"fp32"``, ``"bf16"`` or ``"int8"``.
    device_type : str
        ``"cpu"`` or ``"cuda"``.

    Returns
    -------
    context manager
        ``torch.autocast(device_type, dtype=torch.bfloat16)`` for bf16, a
        no-op otherwise (int8 is in the module itself).

    Example
    -------
    >>> layer = nn.Linear(4, 4)
    >>> with precision_context("bf16"):
    ...     layer(torch.randn(2, 4)).dtype
    torch.bfloat16
    >>> with precision_context("fp32"):
    ...     layer(torch.randn(2, 4)).dtype
    torch.float32
    """
    check_precision(precision)
    if precision == "bf16":
        return torch.autocast(device_type, dtype=torch.bfloat16)
    return nullcontext()


def embedding_agreement(reference, candidate):
    """Cosine similarity of reduced-precision to fp32 embeddings, per row.

    Arguments
    ---------
    reference : torch.Tensor
        (N, D) embeddings of the fp32 model.
    candidate : torch.Tensor
        (N, D) embeddings of the same inputs at another precision.

    Returns
    -------
    dict
        ``{"min", "mean", "count"}`` of the N row cosines.

    Example
    -------
    >>> a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> b = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    >>> embedding_agreement(a, b)
    {'min': 0.800000011920929, 'mean': 0.8999999761581421, 'count': 2}
    """
    reference = torch.as_tensor(reference).float()
    candidate = torch.as_tensor(candidate).float()
    if reference.shape != candidate.shape or reference.dim() != 2:
        raise ValueError(
            "embedding_agreement needs two (N, D) tensors of the same shape, "
            f"got {tuple(reference.shape)} and {tuple(candidate.shape)}"
        )
    cosines = nn.functional.cosine_similarity(reference, candidate, dim=1)
    return {
        "min": cosines.min().item(),
        "mean": cosines.mean().item(),
        "count": int(cosines.numel()),
    }


def count_flops(fn, *args, linear_modules=None, **kwargs):
    """Floating-point operations of one call, by PyTorch's flop counter.

    Uses ``torch.utils.flop_counter.FlopCounterMode`` (a multiply-add is 2
    FLOPs; matrix products, convolutions and attention are counted,
    element-wise operations and FFTs are not). Run it on the fp32 model:
    quantised kernels are not counted.

    Arguments
    ---------
    fn : callable
        The forward pass, e.g. ``encoder``.
    *args, **kwargs
        Its arguments.
    linear_modules : torch.nn.Module, optional
        If given, the FLOPs of its ``nn.Linear`` sub-modules are also
        reported apart (the part int8 quantisation applies to).

    Returns
    -------
    dict
        ``{"total": int, "linear": int}`` (``linear`` is 0 without
        ``linear_modules``).

    Example
    -------
    >>> model = nn.Sequential(nn.Conv1d(2, 4, 3), nn.Flatten(), nn.Linear(8, 5))
    >>> x = torch.randn(1, 2, 4)  # conv: 2 output frames
    >>> count_flops(model, x, linear_modules=model)
    {'total': 176, 'linear': 80}
    """
    from torch.utils.flop_counter import FlopCounterMode

    counted = {"linear": 0}
    handles = []

    def hook(module, inputs, output):
        """Adds the FLOPs of one call of a Linear layer."""
        tokens = inputs[0].numel() // module.in_features
        counted["linear"] += (
            2 * tokens * module.in_features * module.out_features
        )

    if linear_modules is not None:
        for sub in linear_modules.modules():
            if isinstance(sub, nn.Linear):
                handles.append(sub.register_forward_hook(hook))
    try:
        with FlopCounterMode(display=False) as counter:
            fn(*args, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    return {"total": int(counter.get_total_flops()), **counted}


def matmul_flops_per_second(precision="fp32", size=1024, repeats=10):
    """Sustained matrix-product FLOP/s of this machine at ``precision``.

    The best of ``repeats`` timed ``size`` x ``size`` products (after one
    warm-up), with the current ``torch.get_num_threads()``: the floor that
    an encoder's arithmetic cannot go under. fp32 is the better of
    ``torch.matmul`` (MKL) and oneDNN's matmul (``torch.utils.mkldnn``
    linear), bf16 ``torch.matmul`` on bf16 tensors (oneDNN), int8
    ``torch._int_mm`` (int8 x int8 -> int32).

    Arguments
    ---------
    precision : str
        ``"fp32"``, ``"bf16"`` or ``"int8"``.
    size : int
        Matrix side.
    repeats : int
        Timed products; the fastest counts.

    Returns
    -------
    dict
        ``{"flops_per_second": float, "kernel": str}`` (the winning
        kernel), plus ``{kernel: FLOP/s}`` of each kernel tried.

    Example
    -------
    >>> peak = matmul_flops_per_second("fp32", size=64, repeats=2)
    >>> peak["flops_per_second"] > 0
    True
    """
    check_precision(precision)
    flops = 2 * size**3
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    kernels = {}
    with torch.inference_mode():
        if precision == "fp32":
            kernels["torch.matmul"] = lambda: torch.matmul(a, b)
            if torch.backends.mkldnn.is_available():
                from torch.utils import mkldnn

                linear = nn.Linear(size, size, bias=False)
                linear.weight.data.copy_(b.t())
                dense = mkldnn.to_mkldnn(nn.Sequential(linear))
                a_mkldnn = a.to_mkldnn()
                kernels["onednn linear"] = lambda: dense(a_mkldnn)
        elif precision == "bf16":
            a16, b16 = a.bfloat16(), b.bfloat16()
            kernels["torch.matmul bf16"] = lambda: torch.matmul(a16, b16)
        else:
            a8 = (a * 30).clamp(-127, 127).to(torch.int8)
            b8 = (b * 30).clamp(-127, 127).to(torch.int8)
            kernels["torch._int_mm"] = lambda: torch._int_mm(a8, b8)
        rates = {}
        for name, kernel in kernels.items():
            kernel()
            best = float("inf")
            for _ in range(repeats):
                begin = time.perf_counter()
                kernel()
                best = min(best, time.perf_counter() - begin)
            rates[name] = flops / best
    winner = max(rates, key=rates.get)
    return {"flops_per_second": rates[winner], "kernel": winner, **rates}


def add_precision_argument(parser):
    """Adds ``--precision fp32|bf16|int8`` to an argparse parser.

    Arguments
    ---------
    parser : argparse.ArgumentParser

    Example
    -------
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_precision_argument(p)
    >>> p.parse_args(["--precision", "int8"]).precision
    'int8'
    >>> p.parse_args([]).precision
    'fp32'
    """
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=DEFAULT_PRECISION,
        help="inference arithmetic: fp32 (default, as trained), bf16 "
        "(autocast; fast on CPUs with AVX512-BF16/AMX and on GPUs) or int8 "
        "(dynamic quantisation of the Linear layers, CPU only)",
    )
