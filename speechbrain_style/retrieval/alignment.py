"""The "unlinked" baseline of speaker-text retrieval: text and speaker
embeddings brought into one space by linear discriminant analysis with
speaker labels instead of contrastive training (Liu et al.,
"Speaker-text retrieval via contrastive learning").

Authors
 * speechbrain-style contributors 2026
"""

import numbers

import numpy as np
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_style.evaluation.metrics import as_float_matrix, as_labels

logger = get_logger(__name__)


class LDAProjection:
    """One modality's map into the shared LDA space.

    ``projection(x) = normalize((x - mean) @ matrix)``.

    Arguments
    ---------
    mean : numpy.ndarray
        (D,) mean removed first.
    matrix : numpy.ndarray
        (D, K) projection.

    Example
    -------
    >>> proj = LDAProjection(np.zeros(2), np.array([[1.0], [1.0]]))
    >>> proj(np.array([[1.0, 2.0], [-1.0, 0.0]])).tolist()
    [[1.0], [-1.0]]
    """

    def __init__(self, mean, matrix):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.matrix = np.asarray(matrix, dtype=np.float64)

    @property
    def dim(self):
        """Dimension K of the LDA space."""
        return self.matrix.shape[1]

    def __call__(self, x):
        """Projects and L2-normalises (N, D) embeddings.

        Arguments
        ---------
        x : numpy.ndarray or torch.Tensor
            Embeddings (N, D) of this modality.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            (N, K), a float32 tensor for a tensor input, else float64.
        """
        is_tensor = isinstance(x, torch.Tensor)
        x = as_float_matrix(x, "x")
        if x.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"x has dimension {x.shape[1]}, expected {self.mean.shape[0]}"
            )
        y = (x - self.mean) @ self.matrix
        y = y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
        return torch.from_numpy(y).float() if is_tensor else y


def lda_align(
    text_train,
    speech_train,
    speaker_labels,
    n_components=None,
    speech_labels=None,
    shrinkage=1e-3,
):
    """Aligns text and speaker embeddings with a two-view LDA.

    The paper's "unlinked" baseline: no contrastive training, the raw
    encoder outputs are brought into one space by LDA with speaker labels.
    Procedure (text and speech may have different dimensions Dt, Ds and
    live in unrelated coordinates):

    1. centre each modality on its own training mean;
    2. embed both in the direct sum R^(Dt + Ds): a text vector t becomes
       [t, 0], a speech vector s becomes [0, s];
    3. fit scikit-learn's ``LinearDiscriminantAnalysis`` (eigen solver:
       the generalised eigenproblem S_b w = lambda S_w w, with S_w shrunk
       towards a scaled identity by ``shrinkage``) on the union of these
       vectors, labelled by speaker;
    4. keep the ``n_components`` leading discriminant directions
       W = [W_t; W_s]; text maps by W_t, speech by W_s, then L2
       normalisation.

    Because the text and speech rows of a speaker share one class mean, the
    within-class scatter penalises every direction in which the two
    modalities of a speaker disagree, so the kept directions both separate
    speakers and agree across modalities (a two-view LDA).

    Arguments
    ---------
    text_train : numpy.ndarray or torch.Tensor
        Text embeddings (Nt, Dt).
    speech_train : numpy.ndarray or torch.Tensor
        Speaker embeddings (Ns, Ds).
    speaker_labels : sequence
        Speaker of each text row (Nt,); also of each speech row when
        ``speech_labels`` is None (then Nt must equal Ns).
    n_components : int, optional
        Dimension of the LDA space; default min(num_speakers - 1, Dt + Ds).
    speech_labels : sequence, optional
        Speaker of each speech row (Ns,).
    shrinkage : float
        Shrinkage of S_w in [0, 1] (scikit-learn's ``shrinkage``).

    Returns
    -------
    text_projection : LDAProjection
        Callable mapping (N, Dt) text embeddings to the LDA space.
    speech_projection : LDAProjection
        Callable mapping (N, Ds) speaker embeddings to the LDA space.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat(np.arange(4), 5)
    >>> centers = rng.normal(size=(4, 3))[labels]
    >>> text = centers @ rng.normal(size=(3, 6))
    >>> speech = centers @ rng.normal(size=(3, 5))
    >>> to_lda_t, to_lda_s = lda_align(text, speech, labels)
    >>> to_lda_t(text).shape, to_lda_s(speech).shape
    ((20, 3), (20, 3))
    """
    text = as_float_matrix(text_train, "text_train")
    speech = as_float_matrix(speech_train, "speech_train")
    text_labels = as_labels(speaker_labels, text.shape[0], "speaker_labels")
    if speech_labels is None:
        if speech.shape[0] != text.shape[0]:
            raise ValueError(
                "speech_train and text_train have different row counts "
                f"({speech.shape[0]}, {text.shape[0]}): pass speech_labels"
            )
        speech_labels = text_labels
    speech_labels = as_labels(speech_labels, speech.shape[0], "speech_labels")
    classes = sorted(set(text_labels) | set(speech_labels), key=str)
    if len(classes) < 2:
        raise ValueError("lda_align needs at least 2 speakers")
    unpaired = set(text_labels) ^ set(speech_labels)
    if unpaired:
        logger.warning(
            "%d speakers appear in only one modality; they do not help the "
            "alignment",
            len(unpaired),
        )
    dim_t, dim_s = text.shape[1], speech.shape[1]
    dim = dim_t + dim_s
    if n_components is None:
        n_components = min(len(classes) - 1, dim)
    if (
        isinstance(n_components, bool)
        or not isinstance(n_components, numbers.Integral)
        or not 1 <= n_components <= dim
    ):
        raise ValueError(
            f"n_components must be an int in [1, {dim}], got {n_components!r}"
        )
    if n_components > len(classes) - 1:
        logger.warning(
            "n_components=%d exceeds num_speakers - 1 = %d: the extra "
            "directions carry no between-speaker information",
            n_components,
            len(classes) - 1,
        )

    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    text_mean, speech_mean = text.mean(axis=0), speech.mean(axis=0)
    union = np.zeros((text.shape[0] + speech.shape[0], dim))
    union[: text.shape[0], :dim_t] = text - text_mean
    union[text.shape[0] :, dim_t:] = speech - speech_mean
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[c] for c in text_labels + speech_labels])
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage=shrinkage)
    lda.fit(union, y)
    # the eigen solver keeps every direction, most discriminant first
    w = lda.scalings_[:, :n_components]
    logger.info(
        "LDA alignment: %d speakers, %d + %d rows, %d components (leading "
        "explained variance ratio %.3g)",
        len(classes),
        text.shape[0],
        speech.shape[0],
        n_components,
        lda.explained_variance_ratio_[0],
    )
    return LDAProjection(text_mean, w[:dim_t]), LDAProjection(
        speech_mean, w[dim_t:]
    )
