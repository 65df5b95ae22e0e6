"""Builds encoders from the catalogue blocks (``hparams/speech``,
``hparams/text``) the way a user's yaml does: the block's top-level keys
set on the command line, its other arguments edited in the block."""

import os
import re

from hyperpyyaml import load_hyperpyyaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def edit_block_arguments(text, name, arguments):
    """Sets arguments of the ``<name>: !new:`` block of a yaml text.

    An argument already in the block gets the new value; a new one is
    appended to the block.

    Arguments
    ---------
    text : str
        The yaml.
    name : str
        The block's key (``speech_encoder``).
    arguments : dict
        ``{argument: value}``, values written with ``repr`` for strings
        (as yaml scalars) and ``str`` otherwise.

    Returns
    -------
    str

    Example
    -------
    >>> text = "enc: !new:m.C\\n    a: 1\\n    b: x\\nz: 2\\n"
    >>> print(edit_block_arguments(text, "enc", {"b": "y", "c": False}))
    enc: !new:m.C
        a: 1
        b: y
        c: False
    z: 2
    <BLANKLINE>
    """
    lines = text.split("\n")
    start = next(
        i
        for i, line in enumerate(lines)
        if re.match(rf"^{name}:\s*!new:", line)
    )
    end = start + 1
    while end < len(lines) and (not lines[end] or lines[end][0].isspace()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    block = lines[start:end]
    for key, value in arguments.items():
        rendered = f"    {key}: {value}"
        for i, line in enumerate(block):
            if re.match(rf"^\s+{key}\s*:", line):
                block[i] = rendered
                break
        else:
            block.append(rendered)
    return "\n".join(lines[:start] + block + lines[end:])


def load_block(block, top_level=None, arguments=None, sample_rate=16000):
    """The encoder of a catalogue block.

    Arguments
    ---------
    block : str
        ``speech/emotion2vec``, ``text/bert``, ...
    top_level : dict, optional
        Overrides of the block's top-level keys (``emotion2vec_source``).
    arguments : dict, optional
        Arguments of the ``!new:`` block to set (``hub``, ``strict``).
    sample_rate : int
        The recipe's ``sample_rate`` the block refers to.

    Returns
    -------
    torch.nn.Module
    """
    kind = block.split("/")[0]
    path = os.path.join(ROOT, "hparams", f"{block}.yaml")
    with open(path, encoding="utf-8") as fin:
        text = fin.read()
    if arguments:
        text = edit_block_arguments(text, f"{kind}_encoder", arguments)
    text = f"sample_rate: {sample_rate}\n" + text
    return load_hyperpyyaml(text, dict(top_level or {}))[f"{kind}_encoder"]
