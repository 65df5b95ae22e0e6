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

Like any annotated corpus, a description counts as relevant only to the
utterances it was written for, although, being compositional, it is also
true of every other utterance with the factors it mentions ("A man
speaking." of every man). Since the factors are known here,
``test_closed_descriptions.json`` also lists, for each test utterance,
every test description that is true of it: evaluated on it
(``evaluate.py``), relevance is the truth rather than the annotation.
``test_trainbank_closed_descriptions.json`` is the same for descriptions of
the test utterances drawn from the training bank: unseen sentences,
described the way the training set is (as the test split of an annotated
corpus is), beside the held-out wordings of the main test.

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


def describe_utterance_with_factors(
    describer, item, num_descriptions, rng, attempts=50
):
    """Distinct descriptions of one utterance and the factors each mentions.

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
    dict
        ``{description: {factor: value mentioned}}`` in drawing order.

    Example
    -------
    >>> item = {"sex": "male", "pitch": "low", "rate": "fast",
    ...         "range": "normal", "phonation": "modal"}
    >>> drawn = describe_utterance_with_factors(StyleDescriber("train"), item,
    ...     2, np.random.default_rng(1))
    >>> all(set(f.items()) <= set(item.items()) for f in drawn.values())
    True
    """
    names = list(STYLE_FACTORS)
    texts = {}
    for _ in range(attempts * num_descriptions):
        text, labels = describer.describe_with_labels(item, rng)
        mentioned = {
            name: STYLE_FACTORS[name][label]
            for name, label in zip(names, labels, strict=True)
            if label >= 0
        }
        texts.setdefault(text, mentioned)
        if len(texts) == num_descriptions:
            break
    return texts


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
    return list(
        describe_utterance_with_factors(
            describer, item, num_descriptions, rng, attempts
        )
    )


def closed_descriptions(manifest, drawn):
    """Every drawn description that is true of each utterance.

    Arguments
    ---------
    manifest : dict
        ``{utt_id: item}`` with the audible factors (None: inaudible).
    drawn : dict
        ``{utt_id: {description: {factor: value}}}`` of the utterances of
        ``manifest`` (the pool of descriptions).

    Returns
    -------
    dict
        ``{utt_id: [its own descriptions, then the other true ones]}``.

    Example
    -------
    >>> manifest = {"a": {"sex": "male", "rate": "fast"},
    ...             "b": {"sex": "male", "rate": "slow"}}
    >>> drawn = {"a": {"A fast man.": {"sex": "male", "rate": "fast"}},
    ...          "b": {"A man.": {"sex": "male"}}}
    >>> closed_descriptions(manifest, drawn)
    {'a': ['A fast man.', 'A man.'], 'b': ['A man.']}
    """
    pool = {}
    for texts in drawn.values():
        for text, mentioned in texts.items():
            pool.setdefault(text, tuple(sorted(mentioned.items())))
    closed = {}
    for utt_id, item in manifest.items():
        own = list(drawn[utt_id])
        others = sorted(
            text
            for text, mentioned in pool.items()
            if text not in drawn[utt_id]
            and all(item.get(f) == v for f, v in mentioned)
        )
        closed[utt_id] = own + others
    return closed


def save_closed(manifest, drawn, path):
    """Saves a test manifest with every drawn description true of each item.

    Arguments
    ---------
    manifest : dict
        ``{utt_id: entry}`` of the test split (its audible factors).
    drawn : dict
        ``{utt_id: {description: {factor: value}}}``: the descriptions drawn
        for each test utterance.
    path : str
        Where the manifest goes.

    Returns
    -------
    str
        ``path``.
    """
    closed = closed_descriptions(manifest, drawn)
    save_manifest(
        {u: dict(e, descriptions=closed[u]) for u, e in manifest.items()}, path
    )
    logger.info(
        "test (closed): each utterance with every test description true of "
        f"it, {sum(map(len, closed.values())) / len(closed):.1f} on average "
        f"-> {path}"
    )
    return path


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
        ``{split: path}`` of ``<split>_descriptions.json``, and
        ``test_closed`` (``test_closed_descriptions.json``) and
        ``test_trainbank_closed``
        (``test_trainbank_closed_descriptions.json``).

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
    drawn = {}
    for split_index, split in enumerate(SPLITS):
        with open(sources[split], encoding="utf-8") as fin:
            corpus = json.load(fin)
        describer = describers[BANKS[split]]
        manifest = {}
        for index, (utt_id, item) in enumerate(corpus.items()):
            rng = np.random.default_rng([seed, split_index, index])
            audible = audible_factors(item)
            drawn[utt_id] = describe_utterance_with_factors(
                describer, item, num_descriptions, rng
            )
            entry = {
                "wav": item["wav"],
                "duration": item.get("duration"),
                "descriptions": list(drawn[utt_id]),
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
    # the test split, closed: every test description true of an utterance
    paths["test_closed"] = save_closed(
        manifest,
        {u: drawn[u] for u in manifest},
        os.path.join(out_folder, "test_closed_descriptions.json"),
    )
    # the same unseen sentences described with the training bank's wordings
    # (what a test set annotated like the training set looks like)
    seen = {
        utt_id: describe_utterance_with_factors(
            describers["train"],
            corpus[utt_id],
            num_descriptions,
            np.random.default_rng([seed, len(SPLITS), index]),
        )
        for index, utt_id in enumerate(manifest)
    }
    paths["test_trainbank_closed"] = save_closed(
        manifest,
        seen,
        os.path.join(out_folder, "test_trainbank_closed_descriptions.json"),
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
