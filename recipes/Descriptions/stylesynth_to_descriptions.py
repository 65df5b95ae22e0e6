#!/usr/bin/env python3
"""Converts the embedded StyleSynth corpus into a descriptions manifest.

The embedded corpus (``speechbrain_style.corpora.stylesynth``: espeak-ng
speech with controlled sex, pitch, rate, intonation range and phonation)
records each utterance's factors, not descriptions. This script writes, for
each utterance, several distinct free-text descriptions drawn from the
compositional describer (``speechbrain_style.prompts.stylesynth.
StyleDescriber``: each mentions a random subset of the audible factors, so
a short one like "A man speaking." describes many utterances): the training
and validation splits from the training bank, the test split from the
held-out bank (sentence shapes and wordings never seen in training). The
audible factors, speaker, accent and transcript are kept as metadata
(inaudible factors, the pitch and range of whispers, are null).

The corpus is synthesised first if it is not there (the split sizes and
corpus seed of ``recipes/StyleSynth``; the test sentences are never seen
in training)::

    python stylesynth_to_descriptions.py --corpus results/corpus

writes ``{train,valid,test}_descriptions.json`` into the corpus folder
(``{data_root}`` = the corpus folder), ready for ``train.py``.

Authors
 * speechbrain-style contributors 2026
"""

import argparse
import json
import os
import sys

import numpy as np
from speechbrain.utils.logger import get_logger

from speechbrain_style.corpora.stylesynth.synth import (
    STYLE_FACTORS,
    UNOBSERVABLE_FACTORS,
    audible_factors,
    synthesize_corpus,
)
from speechbrain_style.dataio.manifest import save_manifest
from speechbrain_style.prompts.stylesynth import StyleDescriber

logger = get_logger(__name__)

SPLITS = ("train", "valid", "test")
BANKS = {"train": "train", "valid": "train", "test": "heldout"}
METADATA = ("spk_id", "accent", "text")


def describe_utterance(describer, item, num_descriptions, rng, attempts=50):
    """Up to ``num_descriptions`` distinct descriptions of one utterance.

    Arguments
    ---------
    describer : StyleDescriber
        The description bank.
    item : dict
        A corpus manifest item (its factors).
    num_descriptions : int
        Descriptions wanted.
    rng : numpy.random.Generator
        Source of randomness.
    attempts : int
        Draws per wanted description before giving up on distinct ones.

    Returns
    -------
    list of str
        Distinct descriptions (fewer only if the factors allow fewer).

    Example
    -------
    >>> item = {"sex": "female", "pitch": "high", "rate": "slow",
    ...         "range": "animated", "phonation": "modal"}
    >>> texts = describe_utterance(StyleDescriber("train"), item, 4,
    ...                            np.random.default_rng(0))
    >>> len(texts), len(set(texts))
    (4, 4)
    """
    texts = {}
    for _ in range(attempts * num_descriptions):
        texts.setdefault(describer.describe(item, rng), None)
        if len(texts) == num_descriptions:
            break
    return list(texts)


def convert_stylesynth(
    corpus_folder,
    num_descriptions=5,
    seed=0,
    synth=True,
    num_train_utts=2400,
    num_valid_utts=300,
    num_test_utts=1000,
    corpus_seed=1234,
    out_folder=None,
):
    """Writes descriptions manifests of the embedded corpus.

    Arguments
    ---------
    corpus_folder : str
        The corpus (``train.json``, ``valid.json``, ``test.json`` and
        ``wavs/``); synthesised there first if missing and ``synth``.
    num_descriptions : int
        Distinct descriptions per utterance.
    seed : int
        Seed of the descriptions.
    synth : bool
        Synthesise the corpus when its manifests are missing.
    num_train_utts : int
        Training utterances to synthesise.
    num_valid_utts : int
        Validation utterances to synthesise.
    num_test_utts : int
        Test utterances to synthesise.
    corpus_seed : int
        Seed of the synthesised corpus.
    out_folder : str, optional
        Where the manifests go (default: the corpus folder; their paths
        keep the corpus' ``{data_root}`` placeholder).

    Returns
    -------
    dict
        ``{split: path}`` of ``<split>_descriptions.json``.

    Example
    -------
    >>> tmp = getfixture("tmp_path")
    >>> paths = convert_stylesynth(tmp, num_descriptions=3, num_train_utts=4,
    ...     num_valid_utts=2, num_test_utts=2)
    >>> with open(paths["test"], encoding="utf-8") as f:
    ...     item = next(iter(json.load(f).values()))
    >>> len(item["descriptions"]), item["wav"].startswith("{data_root}/wavs/")
    (3, True)
    """
    if isinstance(num_descriptions, bool) or num_descriptions < 1:
        raise ValueError(
            f"num_descriptions must be >= 1, got {num_descriptions}"
        )
    corpus_folder = os.fspath(corpus_folder)
    out_folder = os.fspath(out_folder or corpus_folder)
    sources = {s: os.path.join(corpus_folder, f"{s}.json") for s in SPLITS}
    if not all(os.path.isfile(p) for p in sources.values()):
        if not synth:
            raise FileNotFoundError(
                f"No StyleSynth corpus in {corpus_folder} (expected "
                "train.json, valid.json and test.json)"
            )
        counts = (num_train_utts, num_valid_utts, num_test_utts)
        total = sum(counts)
        synthesize_corpus(
            corpus_folder,
            num_utts=total,
            seed=corpus_seed,
            split_ratios=tuple(c / total for c in counts),
        )
    describers = {
        bank: StyleDescriber(bank, unobservable=UNOBSERVABLE_FACTORS)
        for bank in set(BANKS.values())
    }
    paths = {}
    for split_index, split in enumerate(SPLITS):
        with open(sources[split], encoding="utf-8") as fin:
            corpus = json.load(fin)
        describer = describers[BANKS[split]]
        manifest = {}
        for index, (utt_id, item) in enumerate(corpus.items()):
            rng = np.random.default_rng([seed, split_index, index])
            audible = audible_factors(item)
            entry = {
                "wav": item["wav"],
                "duration": item.get("duration"),
                "descriptions": describe_utterance(
                    describer, item, num_descriptions, rng
                ),
            }
            for factor in STYLE_FACTORS:
                entry[factor] = audible.get(factor)
            for key in METADATA:
                entry[key] = item.get(key)
            manifest[utt_id] = entry
        paths[split] = os.path.join(out_folder, f"{split}_descriptions.json")
        save_manifest(manifest, paths[split])
        num_texts = len(
            {d for entry in manifest.values() for d in entry["descriptions"]}
        )
        logger.info(
            f"{split}: {len(manifest)} utterances, {num_texts} distinct "
            f"descriptions ({BANKS[split]} bank) -> {paths[split]}"
        )
    return paths


def main(argv=None):
    """Command line of the converter (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description="Write descriptions manifests of the embedded corpus."
    )
    parser.add_argument("--corpus", required=True, help="corpus folder")
    parser.add_argument("--out", default=None, help="manifest folder")
    parser.add_argument("--num-descriptions", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-synth",
        action="store_true",
        help="fail instead of synthesising a missing corpus",
    )
    args = parser.parse_args(argv)
    paths = convert_stylesynth(
        args.corpus,
        num_descriptions=args.num_descriptions,
        seed=args.seed,
        synth=not args.no_synth,
        out_folder=args.out,
    )
    for split, path in paths.items():
        print(f"{split}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
