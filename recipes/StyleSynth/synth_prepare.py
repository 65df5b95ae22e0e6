"""Data preparation for the embedded speaking-style corpus (StyleSynth).

The corpus is synthesised offline with espeak-ng
(``speechbrain_style.corpora.stylesynth.synth``):
16 kHz wavs and SpeechBrain JSON manifests whose items record every
speaking-style factor (sex, pitch, rate, range, phonation), the voice and
the sentence. Train, valid and test use disjoint sentences.

Authors
 * speechbrain-style contributors 2026
"""

import os
import shutil

from speechbrain.utils.logger import get_logger

from speechbrain_style.corpora.stylesynth.synth import synthesize_corpus

logger = get_logger(__name__)

SPLITS = ("train", "valid", "test")


def prepare_synth(
    data_folder,
    save_json_train,
    save_json_valid,
    save_json_test,
    num_train_utts=2400,
    num_valid_utts=300,
    num_test_utts=1000,
    seed=1234,
    sentences_file=None,
    skip_prep=False,
):
    """Synthesises the corpus into ``data_folder`` and writes the manifests.

    Arguments
    ---------
    data_folder : str
        Where the wavs (and the corpus' own manifests) are written.
    save_json_train : str
        Path of the training manifest.
    save_json_valid : str
        Path of the validation manifest.
    save_json_test : str
        Path of the test manifest.
    num_train_utts : int
        Training utterances.
    num_valid_utts : int
        Validation utterances.
    num_test_utts : int
        Test utterances.
    seed : int
        Seed of the corpus (the same seed gives the same corpus).
    sentences_file : str, optional
        One sentence per line, replacing the built-in sentence lists.
    skip_prep : bool
        If True, do nothing.

    Returns
    -------
    None

    """
    if skip_prep:
        return
    outputs = (save_json_train, save_json_valid, save_json_test)
    if all(os.path.isfile(path) for path in outputs):
        logger.info("Preparation completed in previous run, skipping.")
        return
    counts = (num_train_utts, num_valid_utts, num_test_utts)
    if min(counts) <= 0:
        raise ValueError(f"Every split needs utterances, got {counts}")
    total = sum(counts)
    manifests = synthesize_corpus(
        data_folder,
        num_utts=total,
        seed=seed,
        sentences_file=sentences_file,
        split_ratios=tuple(c / total for c in counts),
    )
    if isinstance(manifests, dict):
        manifests = [manifests[split] for split in SPLITS]
    for src, dst in zip(manifests, outputs, strict=True):
        if os.path.abspath(src) != os.path.abspath(dst):
            os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
            shutil.copyfile(src, dst)
    logger.info(f"StyleSynth corpus ready in {data_folder}")
