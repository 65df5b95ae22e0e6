"""Writes a trained model as a SpeechBrain inference folder.

The folder holds a ``hyperparams.yaml`` (one ``!new:`` block per module,
rebuilt from each lobe's ``init_kwargs``, a ``modules`` dict and a
``pretrainer``) and the weights, so that
``StyleRetriever.from_hparams(source=folder)`` loads it with no network:

* a module with ``save_pretrained(dir)`` (e.g. the Hugging Face text
  encoder) is saved in its own sub-folder, and its ``source`` argument points
  there (``!ref <model_dir>/<name>``);
* every other module is saved as ``<name>.ckpt`` and loaded by the
  ``Pretrainer``.

``model_dir`` is a placeholder that ``StyleRetriever.from_hparams`` fills
with the folder's absolute path, so the folder can be moved or copied.

Authors
 * speechbrain-style contributors 2026
"""

import hashlib
import json
import os

import torch

INFERENCE_MODULES = (
    "speech_encoder",
    "speech_head",
    "text_encoder",
    "text_head",
)
HPARAMS_FILE = "hyperparams.yaml"
DESCRIPTIONS_FILE = "descriptions.txt"


def _class_path(module):
    cls = type(module)
    return f"{cls.__module__}.{cls.__qualname__}"


def _yaml_value(value):
    """A plain value as a YAML flow scalar/sequence (JSON is valid YAML)."""
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value)


def module_block(name, module, ref_overrides=None):
    """The ``name: !new:...`` YAML block of a lobe.

    An argument that is itself a lobe (e.g. the speech encoder wrapped by
    ``speechbrain_style.lobes.prosody.ProsodyFusion``) becomes a nested
    ``!new:`` block, written from its own ``init_kwargs``.

    Arguments
    ---------
    name : str
        The yaml key.
    module : torch.nn.Module
        A lobe with an ``init_kwargs`` dict.
    ref_overrides : dict, optional
        Arguments written as ``!ref`` expressions instead of values; the
        value of a nested lobe's argument is a dict of its own overrides.

    Returns
    -------
    str
        The YAML text of the block.

    Example
    -------
    >>> class Lobe(torch.nn.Module):
    ...     def __init__(self, size=3, inner=None):
    ...         super().__init__()
    ...         self.init_kwargs = {"size": size}
    ...         if inner is not None:
    ...             self.init_kwargs["inner"] = inner
    >>> print(module_block("lobe", Lobe(4)).split(chr(10))[1])
        size: 4
    >>> print(module_block("lobe", Lobe(4, inner=Lobe(5))).split(chr(10))[3])
            size: 5
    """
    kwargs = getattr(module, "init_kwargs", None)
    if kwargs is None:
        raise TypeError(
            f"Module '{name}' ({_class_path(module)}) has no init_kwargs: "
            "cannot write it to an inference hyperparams.yaml"
        )
    ref_overrides = ref_overrides or {}
    lines = [f"{name}: !new:{_class_path(module)}"]
    for key, value in kwargs.items():
        if isinstance(value, torch.nn.Module):
            nested = module_block(key, value, ref_overrides.get(key))
            lines.extend(f"    {line}" for line in nested.split("\n"))
        elif key in ref_overrides:
            lines.append(f"    {key}: !ref {ref_overrides[key]}")
        else:
            lines.append(f"    {key}: {_yaml_value(value)}")
    return "\n".join(lines)


def _is_pretrained_folder_module(module):
    """Whether a lobe saves itself with ``save_pretrained`` (a ``source``)."""
    return hasattr(module, "save_pretrained") and "source" in getattr(
        module, "init_kwargs", {}
    )


def _save_nested_pretrained(module, folder, prefix):
    """Saves the ``save_pretrained`` lobes nested in ``module``'s arguments.

    Returns the ``ref_overrides`` of ``module_block`` that point their
    ``source`` at the saved sub-folders (``<prefix>.<argument>``).
    """
    overrides = {}
    for key, value in getattr(module, "init_kwargs", {}).items():
        if not isinstance(value, torch.nn.Module):
            continue
        sub = f"{prefix}.{key}"
        if _is_pretrained_folder_module(value):
            value.save_pretrained(os.path.join(folder, sub))
            overrides[key] = {"source": f"<model_dir>/{sub}"}
        else:
            nested = _save_nested_pretrained(value, folder, sub)
            if nested:
                overrides[key] = nested
    return overrides


def write_inference_folder(folder, modules, extra=None):
    """Writes ``hyperparams.yaml`` and weights of ``modules`` to ``folder``.

    Arguments
    ---------
    folder : str
        Output folder (created).
    modules : dict
        ``{name: module}``, normally speech_encoder, speech_head,
        text_encoder and text_head.
    extra : dict, optional
        Plain top-level values (e.g. ``sample_rate``) and an optional
        ``description_bank`` list written to ``descriptions.txt``.

    Returns
    -------
    str
        Path of the written ``hyperparams.yaml``.
    """
    os.makedirs(folder, exist_ok=True)
    extra = dict(extra or {})
    bank = extra.pop("description_bank", None)
    blocks, loadables = [], []
    for name, module in modules.items():
        if _is_pretrained_folder_module(module):
            module.save_pretrained(os.path.join(folder, name))
            blocks.append(
                module_block(name, module, {"source": f"<model_dir>/{name}"})
            )
        else:
            # A wrapped pretrained lobe (e.g. WavLM inside ProsodyFusion) is
            # rebuilt from its saved folder; the checkpoint has every weight.
            nested = _save_nested_pretrained(module, folder, name)
            torch.save(
                module.state_dict(), os.path.join(folder, f"{name}.ckpt")
            )
            blocks.append(module_block(name, module, nested))
            loadables.append(name)
    header = [
        "# ############################################################",
        "# speechbrain-style inference model (written after training).",
        "# Load with:",
        "#   from speechbrain_style.inference.retriever import StyleRetriever",
        "#   model = StyleRetriever.from_hparams(source=<this folder>)",
        "# ############################################################",
        "",
        "model_dir: !PLACEHOLDER  # filled in by StyleRetriever.from_hparams",
    ]
    for key, value in extra.items():
        header.append(f"{key}: {_yaml_value(value)}")
    modules_block = ["modules:"] + [
        f"    {name}: !ref <{name}>" for name in modules
    ]
    pretrainer = [
        "pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer",
        "    loadables:",
    ]
    pretrainer += [f"        {name}: !ref <{name}>" for name in loadables]
    pretrainer.append("    paths:")
    pretrainer += [
        f"        {name}: !ref <model_dir>/{name}.ckpt" for name in loadables
    ]
    if not loadables:
        pretrainer = [
            "pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer"
        ]
    text = "\n\n".join(
        ["\n".join(header)]
        + blocks
        + ["\n".join(modules_block)]
        + ["\n".join(pretrainer)]
    )
    path = os.path.join(folder, HPARAMS_FILE)
    with open(path, "w", encoding="utf-8") as fout:
        fout.write(text + "\n")
    if bank is not None:
        with open(
            os.path.join(folder, DESCRIPTIONS_FILE), "w", encoding="utf-8"
        ) as fout:
            fout.write("\n".join(bank) + "\n")
    return path


def model_fingerprint(folder):
    """A short hash of every file of an inference folder.

    Two folders with the same weights and hyperparameters have the same
    fingerprint; an index records it to refuse queries from another model.

    Arguments
    ---------
    folder : str
        The inference folder.

    Returns
    -------
    str
        16 hex digits.
    """
    if not os.path.isfile(os.path.join(folder, HPARAMS_FILE)):
        raise FileNotFoundError(f"{folder} is not an inference folder")
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for fname in sorted(files):
            if fname == DESCRIPTIONS_FILE:
                continue
            path = os.path.join(root, fname)
            digest.update(os.path.relpath(path, folder).encode())
            with open(path, "rb") as fin:
                for chunk in iter(lambda: fin.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()[:16]
