"""Speaker-side tools of speaker-text retrieval.

Liu et al., "Speaker-text retrieval via contrastive learning":

* :class:`AAMSpeakerLoss`: the AAM-softmax speaker classification loss
  used as a regulariser of the contrastive loss
  (``L = L_CTS,tot + lambda * L_spk``, lambda = 0.1);
* :func:`lda_align`: the "unlinked" baseline, which aligns text
  embeddings with speaker embeddings by linear discriminant analysis
  instead of contrastive training;
* :func:`speaker_retrieval_metrics`: mAP@10 and mean rank in both
  directions, relevance = same speaker, plain or with cross-modal fusion;
* :func:`tsne` / :func:`tsne_plot`: a small exact t-SNE (van der Maaten
  and Hinton, JMLR 2008) in numpy, and the per-set scatter plots of the
  paper's Fig. 3.

Authors
 * speechbrain-style contributors 2026
"""

import math
import numbers

import numpy as np
import torch
from speechbrain.lobes.models.ECAPA_TDNN import Classifier
from speechbrain.nnet.losses import AdditiveAngularMargin, LogSoftmaxWrapper
from speechbrain.utils.logger import get_logger

from speechbrain_style.evaluation.metrics import (
    atomic_output,
    retrieval_metrics,
)
from speechbrain_style.retrieval.fusion import fuse_queries

logger = get_logger(__name__)


class AAMSpeakerLoss(torch.nn.Module):
    """Additive angular margin (AAM) softmax speaker classification loss.

    A cosine classifier (SpeechBrain's ECAPA-TDNN ``Classifier``: one
    learnable weight row per speaker, logits = cosine between the
    normalised embedding and the normalised row), then SpeechBrain's
    ``LogSoftmaxWrapper(AdditiveAngularMargin(margin, scale))``: the
    target logit cos(theta) becomes cos(theta + margin), all logits are
    multiplied by ``scale`` and the loss is the mean negative
    log-softmax of the target (Deng et al., ArcFace; Liu et al., Margin
    Matters, https://arxiv.org/abs/1906.07317).

    Arguments
    ---------
    input_size : int
        Embedding dimension D.
    num_speakers : int
        Number of training speakers.
    margin : float
        Angular margin (radians).
    scale : float
        Logit scale.

    Example
    -------
    >>> torch.manual_seed(0)
    <torch._C.Generator object at ...>
    >>> loss_fn = AAMSpeakerLoss(input_size=4, num_speakers=3)
    >>> loss = loss_fn(torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1]))
    >>> loss.shape, bool(loss > 0)
    (torch.Size([]), True)
    """

    def __init__(self, input_size, num_speakers, margin=0.2, scale=30):
        super().__init__()
        for name, value in (
            ("input_size", input_size),
            ("num_speakers", num_speakers),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Integral)
                or value < 1
            ):
                raise ValueError(
                    f"{name} must be a positive int, got {value!r}"
                )
        if margin < 0 or scale <= 0:
            raise ValueError(
                f"margin must be >= 0 and scale > 0, got {margin} and {scale}"
            )
        self.input_size = int(input_size)
        self.num_speakers = int(num_speakers)
        self.classifier = Classifier(
            input_size, lin_blocks=0, out_neurons=num_speakers
        )
        self.loss = LogSoftmaxWrapper(
            AdditiveAngularMargin(margin=margin, scale=scale)
        )

    @property
    def weight(self):
        """The (num_speakers, input_size) class-weight matrix."""
        return self.classifier.weight

    def cosine(self, embeddings):
        """Cosine similarities (B, num_speakers) to the speaker weights.

        Arguments
        ---------
        embeddings : torch.Tensor
            Embeddings (B, D).

        Returns
        -------
        torch.Tensor
            (B, num_speakers) cosines.
        """
        return self.classifier(embeddings.unsqueeze(1)).squeeze(1)

    def forward(self, embeddings, speaker_index):
        """Returns the mean AAM-softmax loss of a batch.

        Arguments
        ---------
        embeddings : torch.Tensor
            Embeddings (B, D) (normalised inside).
        speaker_index : torch.Tensor
            Integer speaker indices (B,) in [0, num_speakers).

        Returns
        -------
        torch.Tensor
            The scalar loss.
        """
        if embeddings.dim() != 2 or embeddings.shape[1] != self.input_size:
            raise ValueError(
                f"embeddings must be (B, {self.input_size}), got "
                f"{tuple(embeddings.shape)}"
            )
        speaker_index = torch.as_tensor(speaker_index, device=embeddings.device)
        if speaker_index.shape != (embeddings.shape[0],):
            raise ValueError(
                f"speaker_index must be ({embeddings.shape[0]},), got "
                f"{tuple(speaker_index.shape)}"
            )
        if speaker_index.is_floating_point() or speaker_index.dtype == (
            torch.bool
        ):
            raise TypeError(
                f"speaker_index must be integer, got {speaker_index.dtype}"
            )
        if speaker_index.numel() and (
            speaker_index.min() < 0 or speaker_index.max() >= self.num_speakers
        ):
            raise ValueError(
                f"speaker_index must be in [0, {self.num_speakers}), got "
                f"values {speaker_index.min().item()} to "
                f"{speaker_index.max().item()}"
            )
        cosine = self.cosine(embeddings)
        return self.loss(cosine.unsqueeze(1), speaker_index.unsqueeze(1))


# ---------------------------------------------------------------------------
# LDA alignment ("unlinked" baseline)
# ---------------------------------------------------------------------------


def _as_float_matrix(x, name):
    """Returns ``x`` as a float64 numpy matrix (N, D)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty (N, D) matrix")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return x


def _as_labels(labels, count, name):
    if isinstance(labels, torch.Tensor):
        labels = labels.tolist()
    labels = list(np.asarray(labels, dtype=object).reshape(-1))
    if len(labels) != count:
        raise ValueError(f"{name} has {len(labels)} entries for {count} rows")
    return labels


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
        x = _as_float_matrix(x, "x")
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
    3. on the union of these vectors, labelled by speaker, compute the
       within-class scatter S_w (around each speaker's mean over both
       modalities) and the between-class scatter S_b, and solve the
       generalised eigenproblem S_b w = lambda S_w w (``scipy.linalg.eigh``;
       S_w gets a ridge of ``shrinkage * trace(S_w) / D``);
    4. keep the ``n_components`` leading eigenvectors W = [W_t; W_s]; text
       maps by W_t, speech by W_s, then L2 normalisation.

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
        Relative ridge added to S_w.

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
    from scipy.linalg import eigh

    text = _as_float_matrix(text_train, "text_train")
    speech = _as_float_matrix(speech_train, "speech_train")
    text_labels = _as_labels(speaker_labels, text.shape[0], "speaker_labels")
    if speech_labels is None:
        if speech.shape[0] != text.shape[0]:
            raise ValueError(
                "speech_train and text_train have different row counts "
                f"({speech.shape[0]}, {text.shape[0]}): pass speech_labels"
            )
        speech_labels = text_labels
    speech_labels = _as_labels(speech_labels, speech.shape[0], "speech_labels")
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

    text_mean, speech_mean = text.mean(axis=0), speech.mean(axis=0)
    union = np.zeros((text.shape[0] + speech.shape[0], dim))
    union[: text.shape[0], :dim_t] = text - text_mean
    union[text.shape[0] :, dim_t:] = speech - speech_mean
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[c] for c in text_labels + speech_labels])
    counts = np.bincount(y, minlength=len(classes)).astype(np.float64)
    class_means = np.zeros((len(classes), dim))
    np.add.at(class_means, y, union)
    class_means /= counts[:, None]
    total_mean = union.mean(axis=0)
    within = union - class_means[y]
    s_w = within.T @ within / union.shape[0]
    between = (class_means - total_mean) * np.sqrt(counts)[:, None]
    s_b = between.T @ between / union.shape[0]
    s_w += shrinkage * max(np.trace(s_w), 1e-12) / dim * np.eye(dim)
    eigvals, eigvecs = eigh(s_b, s_w)
    order = np.argsort(eigvals)[::-1][:n_components]
    w = eigvecs[:, order]
    logger.info(
        "LDA alignment: %d speakers, %d + %d rows, %d components (leading "
        "eigenvalue %.3g)",
        len(classes),
        text.shape[0],
        speech.shape[0],
        n_components,
        eigvals[order[0]],
    )
    return LDAProjection(text_mean, w[:dim_t]), LDAProjection(
        speech_mean, w[dim_t:]
    )


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def _normalised_tensor(x, name):
    x = torch.as_tensor(
        x.detach().cpu() if isinstance(x, torch.Tensor) else np.asarray(x),
        dtype=torch.float32,
    )
    if x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty (N, D) matrix")
    norms = x.norm(dim=1, keepdim=True)
    if (norms == 0).any() or not torch.isfinite(x).all():
        raise ValueError(f"{name} contains all-zero, NaN or inf rows")
    return x / norms


def speaker_retrieval_metrics(
    speech,
    text,
    speech_spk,
    text_spk,
    k=10,
    fusion_n=None,
    fusion_weighting="similarity",
    ties="pessimistic",
):
    """mAP@k and mean rank of speaker-text retrieval, both directions.

    Cosine similarity over the full galleries; a gallery item is relevant
    when it has the query's speaker. ``mAP@k`` follows
    :func:`speechbrain_style.evaluation.metrics.average_precision_at_k`
    (precision at
    relevant positions in the top k over min(num_relevant, k)), and
    ``mean_rank`` is the mean rank of the first relevant item.

    Arguments
    ---------
    speech : array-like or torch.Tensor
        Speaker (speech) embeddings (N, D).
    text : array-like or torch.Tensor
        Text embeddings (M, D) in the same space.
    speech_spk : sequence
        Speaker of each speech row (N,).
    text_spk : sequence
        Speaker of each text row (M,).
    k : int
        Cut-off of mAP.
    fusion_n : int, optional
        If given, queries are fused with their ``fusion_n`` nearest
        gallery items of the other modality first
        (:func:`speechbrain_style.retrieval.fusion.fuse_queries`).
    fusion_weighting : str
        Fusion weights, ``"similarity"`` or ``"uniform"``.
    ties : str
        Tie policy of :mod:`speechbrain_style.evaluation.metrics`.

    Returns
    -------
    dict
        ``{"s2t": {"mAP@k", "mean_rank"}, "t2s": {...}}`` (floats).

    Example
    -------
    >>> speech = [[1.0, 0.0], [0.0, 1.0]]
    >>> text = [[0.9, 0.1], [0.2, 0.8], [0.7, 0.7]]
    >>> result = speaker_retrieval_metrics(
    ...     speech, text, ["a", "b"], ["a", "b", "b"], k=2
    ... )
    >>> result["s2t"]
    {'mAP@2': 1.0, 'mean_rank': 1.0}
    """
    speech = _normalised_tensor(speech, "speech")
    text = _normalised_tensor(text, "text")
    if speech.shape[1] != text.shape[1]:
        raise ValueError(
            f"speech ({speech.shape[1]}) and text ({text.shape[1]}) "
            "embeddings must have the same dimension"
        )
    speech_spk = _as_labels(speech_spk, speech.shape[0], "speech_spk")
    text_spk = _as_labels(text_spk, text.shape[0], "text_spk")
    # (N, M) bool by comparing integer codes: no (N, M) Python objects
    codes = {}
    speech_codes = np.array(
        [codes.setdefault(s, len(codes)) for s in speech_spk]
    )
    text_codes = np.array([codes.setdefault(t, len(codes)) for t in text_spk])
    relevance = speech_codes[:, None] == text_codes[None, :]
    speech_queries, text_queries = speech, text
    if fusion_n is not None:
        speech_queries = fuse_queries(
            speech, text, n=fusion_n, weighting=fusion_weighting
        )
        text_queries = fuse_queries(
            text, speech, n=fusion_n, weighting=fusion_weighting
        )
    results = {}
    for name, queries, gallery, rel in (
        ("s2t", speech_queries, text, relevance),
        ("t2s", text_queries, speech, relevance.T),
    ):
        metrics = retrieval_metrics(
            (queries @ gallery.T).numpy(), rel, ks=(1,), map_k=k, ties=ties
        )
        results[name] = {
            f"mAP@{k}": metrics[f"mAP@{k}"],
            "mean_rank": metrics["mean_rank"],
        }
    return results


# ---------------------------------------------------------------------------
# t-SNE
# ---------------------------------------------------------------------------


def _squared_distances(x):
    sq = (x * x).sum(axis=1)
    d = sq[:, None] + sq[None, :] - 2.0 * x @ x.T
    np.maximum(d, 0.0, out=d)
    np.fill_diagonal(d, 0.0)
    return d


def _conditional_probabilities(d, perplexity, tol=1e-5, max_iter=100):
    """Rows P_{j|i} with the given perplexity, by bisection on the precisions.

    All rows are calibrated together: each row's precision beta_i doubles /
    halves until bracketed, then bisects, until the row entropy is within
    ``tol`` nats of log(perplexity).
    """
    n = d.shape[0]
    target = math.log(perplexity)
    off = ~np.eye(n, dtype=bool)
    masked = np.where(off, d, np.inf)
    # distances minus each row's nearest one (no underflow), 0 on the diagonal
    shifted = np.where(off, masked - masked.min(axis=1, keepdims=True), 0.0)
    beta = np.ones(n) / max(np.median(d[off]), 1e-12)
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    for _ in range(max_iter):
        p = np.where(off, np.exp(-shifted * beta[:, None]), 0.0)
        z = p.sum(axis=1)
        entropy = np.log(z) + beta * (shifted * p).sum(axis=1) / z
        diff = entropy - target
        if np.all(np.abs(diff) < tol):
            break
        too_flat = diff > 0
        lo = np.where(too_flat, beta, lo)
        hi = np.where(too_flat, hi, beta)
        beta = np.where(
            too_flat,
            np.where(np.isinf(hi), beta * 2.0, (beta + hi) / 2.0),
            (beta + lo) / 2.0,
        )
    return p / z[:, None]


def tsne(
    x,
    perplexity=30.0,
    n_iter=1000,
    early_exaggeration=12.0,
    exaggeration_iter=250,
    learning_rate=None,
    pca_dims=50,
    seed=0,
):
    """Exact t-SNE of (N, D) points to 2-D (van der Maaten & Hinton, 2008).

    Perplexity-calibrated Gaussian affinities (bisection per point),
    symmetrised; Student-t affinities in 2-D; gradient descent with
    momentum (0.5, then 0.8) and per-coordinate gains, early exaggeration
    for the first ``exaggeration_iter`` iterations. The inputs are first
    reduced to ``pca_dims`` dimensions by PCA, and the 2-D layout starts
    from the first two principal components scaled to std 1e-4 plus a
    little seeded noise. Cost is O(N^2) memory and time per iteration.

    Arguments
    ---------
    x : numpy.ndarray or torch.Tensor
        Points (N, D), N >= 4.
    perplexity : float
        Effective number of neighbours; lowered to (N - 1) / 3 if larger.
    n_iter : int
        Gradient steps.
    early_exaggeration : float
        Factor on P during the first ``exaggeration_iter`` steps.
    exaggeration_iter : int
        Steps with early exaggeration.
    learning_rate : float, optional
        Default max(N / early_exaggeration / 4, 50).
    pca_dims : int
        PCA dimension applied first (if smaller than D).
    seed : int
        Seed of the initial noise.

    Returns
    -------
    numpy.ndarray
        (N, 2) coordinates.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(20, 5))
    >>> x[10:] += 20
    >>> y = tsne(x, perplexity=5, n_iter=300)
    >>> y.shape
    (20, 2)
    """
    x = _as_float_matrix(x, "x")
    n = x.shape[0]
    if n < 4:
        raise ValueError(f"t-SNE needs at least 4 points, got {n}")
    if perplexity <= 1:
        raise ValueError(f"perplexity must be > 1, got {perplexity}")
    if perplexity > (n - 1) / 3:
        perplexity = max((n - 1) / 3, 1.5)
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    if x.shape[1] > pca_dims:
        x = x @ vt[:pca_dims].T
        vt = np.eye(pca_dims, x.shape[1])
    p = _conditional_probabilities(_squared_distances(x), perplexity)
    p = (p + p.T) / (2.0 * n)
    np.fill_diagonal(p, 0.0)
    p = np.maximum(p, 1e-12)
    rng = np.random.default_rng(seed)
    y = x @ vt[:2].T if vt.shape[0] >= 2 else rng.normal(size=(n, 2))
    y = y + 1e-3 * y.std() * rng.normal(size=y.shape)
    y = y / max(y[:, 0].std(), 1e-12) * 1e-4
    if learning_rate is None:
        learning_rate = max(n / early_exaggeration / 4.0, 50.0)
    # float32 and in-place updates: the (N, N) matrices dominate the cost
    p = p.astype(np.float32)
    y = y.astype(np.float32)
    update = np.zeros_like(y)
    gains = np.ones_like(y)
    num = np.empty_like(p)
    pq = np.empty_like(p)
    for it in range(n_iter):
        exaggeration = early_exaggeration if it < exaggeration_iter else 1.0
        momentum = 0.5 if it < exaggeration_iter else 0.8
        # num_ij = 1 / (1 + |y_i - y_j|^2), zero diagonal
        sq = (y * y).sum(axis=1)
        np.matmul(y, y.T, out=num)
        num *= -2.0
        num += sq[:, None]
        num += sq[None, :]
        np.maximum(num, 0.0, out=num)
        num += 1.0
        np.reciprocal(num, out=num)
        np.fill_diagonal(num, 0.0)
        # grad_i = 4 sum_j (p_ij - q_ij) num_ij (y_i - y_j), q = num / sum
        np.multiply(num, -1.0 / num.sum(), out=pq)
        pq += p if exaggeration == 1.0 else exaggeration * p
        pq *= num
        grad = 4.0 * (pq.sum(axis=1)[:, None] * y - pq @ y)
        same_sign = np.sign(grad) == np.sign(update)
        gains = np.where(same_sign, gains * 0.8, gains + 0.2)
        np.maximum(gains, 0.01, out=gains)
        update = momentum * update - learning_rate * gains * grad
        y = y + update
    y = y.astype(np.float64)
    return y - y.mean(axis=0)


def tsne_plot(
    embeddings_by_set,
    labels,
    path,
    title=None,
    perplexity=30.0,
    n_iter=1000,
    seed=0,
):
    """t-SNE scatter plots coloured by speaker, one panel per set.

    Each set (e.g. "speaker", "text", "speaker fused", "text fused") is
    embedded separately with :func:`tsne`, as in the paper's Fig. 3.

    Arguments
    ---------
    embeddings_by_set : dict
        ``{name: (N, D) embeddings}``.
    labels : sequence or dict
        Speaker of each row (N,), shared by every set, or ``{name: labels}``
        per set.
    path : str
        The PNG to write.
    title : str, optional
        Figure title.
    perplexity : float
        t-SNE perplexity.
    n_iter : int
        t-SNE steps.
    seed : int
        t-SNE seed.

    Returns
    -------
    dict
        ``{name: (N, 2) coordinates}``; the PNG is not written (a warning
        is logged) if matplotlib is not installed.
    """
    if not isinstance(embeddings_by_set, dict) or not embeddings_by_set:
        raise ValueError("embeddings_by_set must be a non-empty dict")
    coords, set_labels = {}, {}
    for name, embeddings in embeddings_by_set.items():
        embeddings = _as_float_matrix(
            embeddings, f"embeddings_by_set[{name!r}]"
        )
        these = labels[name] if isinstance(labels, dict) else labels
        set_labels[name] = _as_labels(
            these, embeddings.shape[0], f"labels of set {name!r}"
        )
        coords[name] = tsne(
            embeddings, perplexity=perplexity, n_iter=n_iter, seed=seed
        )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        logger.warning("matplotlib is not installed: %s not written", path)
        return coords
    speakers = sorted({s for ls in set_labels.values() for s in ls}, key=str)
    cmap = plt.get_cmap("tab10" if len(speakers) <= 10 else "tab20")
    colours = {s: cmap(i % cmap.N) for i, s in enumerate(speakers)}
    fig, axes = plt.subplots(
        1, len(coords), figsize=(4 * len(coords), 4), squeeze=False
    )
    for ax, (name, xy) in zip(axes[0], coords.items(), strict=True):
        for speaker in speakers:
            rows = [i for i, s in enumerate(set_labels[name]) if s == speaker]
            if rows:
                ax.scatter(
                    xy[rows, 0],
                    xy[rows, 1],
                    s=8,
                    color=colours[speaker],
                    label=str(speaker),
                )
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    if len(speakers) <= 20:
        axes[0][-1].legend(
            fontsize=7,
            markerscale=2,
            loc="center left",
            bbox_to_anchor=(1, 0.5),
        )
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_output(path) as temporary:
        fig.savefig(temporary, dpi=120)
    plt.close(fig)
    logger.info("Wrote t-SNE plot to %s", path)
    return coords
