"""Shared encoder blocks: one yaml per encoder, chosen by name.

The top-level ``hparams/`` folder holds one HyperPyYAML file per encoder
(``hparams/speech/ecapa_small.yaml``, ``hparams/text/minilm.yaml``, ...),
each defining ``encoder`` and ``output_size``. A recipe picks one by name, so
that swapping an encoder is one yaml line or one command-line override::

    speech_block: ecapa_small            # --speech_block=emotion2vec
    speech_overrides: {freeze: False}    # --speech_overrides="{source: DIR}"
    speech_encoder: !apply:speechbrain_style.blocks.load_encoder
        block: !ref speech/<speech_block>
        overrides: !ref <speech_overrides>
    speech_head: !new:speechbrain_style.lobes.ProjectionHead
        input_size: !apply:getattr [!ref <speech_encoder>, output_size]

(HyperPyYAML's ``!include:`` also works in a yaml file, but a command-line
override merges into an included node instead of replacing it, hence this
function.)

Authors
 * speechbrain-style contributors 2026
"""

import os
import re

from hyperpyyaml import load_hyperpyyaml

HPARAMS_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "hparams"
)


def block_path(block):
    """Resolves a block name (``speech/ecapa_small``) or a yaml path.

    Arguments
    ---------
    block : str
        A path to a yaml file, or a name relative to the shared ``hparams/``
        folder, with or without ``.yaml``.

    Returns
    -------
    str
        Path of the yaml file.

    Example
    -------
    >>> os.path.basename(block_path("text/minilm"))
    'minilm.yaml'
    """
    candidates = [block, f"{block}.yaml"]
    candidates += [os.path.join(HPARAMS_DIR, c) for c in list(candidates)]
    for path in candidates:
        if os.path.isfile(path):
            return path
    available = []
    for kind in ("speech", "text"):
        folder = os.path.join(HPARAMS_DIR, kind)
        if os.path.isdir(folder):
            available += [
                f"{kind}/{f[:-5]}"
                for f in sorted(os.listdir(folder))
                if f.endswith(".yaml")
            ]
    raise FileNotFoundError(
        f"No encoder block '{block}' (a yaml path, or one of: "
        f"{', '.join(available)})"
    )


def load_block(block, overrides=None):
    """Loads a shared encoder block with HyperPyYAML.

    Arguments
    ---------
    block : str
        Block name or yaml path (see ``block_path``).
    overrides : dict, optional
        Values replacing the block's own (e.g. ``{"freeze": True}``). A
        wrapper block (one with ``base_overrides``, like ``speech/prosody``)
        passes the keys it does not define on to the block it wraps.

    Returns
    -------
    dict
        The loaded block: at least ``encoder`` and ``output_size``.
    """
    path = block_path(block)
    with open(path, encoding="utf-8") as fin:
        text = fin.read()
    overrides = _forward_to_base(text, dict(overrides or {}))
    loaded = load_hyperpyyaml(text, overrides)
    for key in ("encoder", "output_size"):
        if key not in loaded:
            raise ValueError(f"Encoder block {path} defines no '{key}'")
    return loaded


def _forward_to_base(text, overrides):
    """Moves the overrides a wrapper block does not define into its
    ``base_overrides`` (e.g. a recipe's ``{source: ...}`` for emotion2vec
    reaches the encoder wrapped by ``speech/prosody``); explicit
    ``base_overrides`` win. Blocks without ``base_overrides`` are left alone
    (an unknown key is then HyperPyYAML's error)."""
    keys = set(re.findall(r"^([A-Za-z_][\w]*)\s*:", text, flags=re.MULTILINE))
    if "base_overrides" not in keys:
        return overrides
    unknown = {k: v for k, v in overrides.items() if k not in keys}
    if not unknown:
        return overrides
    kept = {k: v for k, v in overrides.items() if k in keys}
    explicit = dict(kept.get("base_overrides") or {})
    kept["base_overrides"] = {**unknown, **explicit}
    return kept


def load_encoder(block, overrides=None):
    """The ``encoder`` of a shared block (see ``load_block``).

    Arguments
    ---------
    block : str
        Block name or yaml path.
    overrides : dict, optional
        Values replacing the block's own.

    Returns
    -------
    torch.nn.Module
        The encoder, with an ``output_size`` attribute.
    """
    encoder = load_block(block, overrides)["encoder"]
    if not hasattr(encoder, "output_size"):
        raise TypeError(f"The encoder of block '{block}' has no output_size")
    return encoder
