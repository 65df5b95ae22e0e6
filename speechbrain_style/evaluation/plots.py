"""Figures of the evaluators, drawn without pyplot.

Library code must never switch the user's matplotlib backend (a notebook
or a GUI keeps its own): every figure here is a ``matplotlib.figure.Figure``
written straight to a PNG (matplotlib renders it with Agg, whatever
backend pyplot uses), atomically, and never registered with pyplot, so
nothing is left open either. matplotlib is optional: without it the plot
functions log a warning and write nothing.

* :func:`new_figure` / :func:`save_figure`: the two steps every plot of the
  package uses;
* :func:`tsne_embed` / :func:`tsne_plot`: 2-D t-SNE maps (scikit-learn's
  ``TSNE``) coloured by label, one panel per embedding set (the speaker-text
  paper's Fig. 3).

Authors
 * speechbrain-style contributors 2026
"""

import numpy as np
from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.files import atomic_output
from speechbrain_style.evaluation.metrics import as_float_matrix, as_labels

logger = get_logger(__name__)


def new_figure(nrows=1, ncols=1, figsize=(5, 4)):
    """A pyplot-free figure and its (nrows, ncols) array of axes.

    Arguments
    ---------
    nrows : int
        Rows of panels.
    ncols : int
        Columns of panels.
    figsize : tuple
        (width, height) in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure or None
        None when matplotlib is not installed (a warning is logged).
    axes : numpy.ndarray or None
        (nrows, ncols) axes.

    Example
    -------
    >>> fig, axes = new_figure(1, 2)
    >>> axes.shape
    (1, 2)
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover
        logger.warning("matplotlib is not installed: no plots")
        return None, None
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def save_figure(fig, path, dpi=110):
    """Writes ``fig`` to ``path`` (a PNG) atomically.

    Arguments
    ---------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or os.PathLike
        Where to write it; a reader sees the old file or the whole new one.
    dpi : int
        Resolution.

    Returns
    -------
    str
        ``path``.

    Example
    -------
    >>> fig, axes = new_figure()
    >>> _ = axes[0, 0].plot([0, 1], [1, 0])
    >>> path = str(getfixture("tmp_path") / "line.png")
    >>> save_figure(fig, path) == path
    True
    """
    with atomic_output(path) as temporary:
        fig.savefig(temporary, dpi=dpi, format="png")
    return str(path)


def tsne_embed(x, perplexity=30.0, n_iter=1000, seed=0):
    """2-D t-SNE coordinates of (N, D) points (scikit-learn's ``TSNE``).

    PCA initialisation (random when every point is the same), automatic
    learning rate, exact gradients for
    N < 1000 and Barnes-Hut above; the perplexity is lowered to
    (N - 1) / 3 when it is larger (t-SNE needs perplexity < N).

    Arguments
    ---------
    x : numpy.ndarray or torch.Tensor
        Points (N, D), N >= 4.
    perplexity : float
        Effective number of neighbours (> 1).
    n_iter : int
        Optimisation steps (at least 250).
    seed : int
        Seed of the optimisation.

    Returns
    -------
    numpy.ndarray
        (N, 2) coordinates, centred.

    Example
    -------
    >>> x = np.random.default_rng(0).normal(size=(20, 5))
    >>> tsne_embed(x, perplexity=5, n_iter=250).shape
    (20, 2)
    """
    from sklearn.manifold import TSNE

    x = as_float_matrix(x, "x")
    n = x.shape[0]
    if n < 4:
        raise ValueError(f"t-SNE needs at least 4 points, got {n}")
    if perplexity <= 1:
        raise ValueError(f"perplexity must be > 1, got {perplexity}")
    perplexity = min(perplexity, max((n - 1) / 3, 1.5))
    # PCA initialisation divides by the spread of the first component:
    # points that are all the same (an untrained model's identical texts)
    # start from a random layout instead of NaN.
    spread = np.abs(x - x.mean(axis=0)).max()
    degenerate = spread <= 1e-12 * max(1.0, np.abs(x).max())
    tsne = TSNE(
        n_components=2,
        perplexity=perplexity,
        max_iter=max(int(n_iter), 250),
        init="random" if degenerate else "pca",
        learning_rate="auto",
        method="exact" if n < 1000 else "barnes_hut",
        random_state=seed,
    )
    y = tsne.fit_transform(x)
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
    """t-SNE scatter plots coloured by label, one panel per set.

    Each set (e.g. "speaker", "text", "speaker fused", "text fused") is
    embedded separately with :func:`tsne_embed`, as in the speaker-text
    paper's Fig. 3.

    Arguments
    ---------
    embeddings_by_set : dict
        ``{name: (N, D) embeddings}``.
    labels : sequence or dict
        Label (e.g. speaker) of each row (N,), shared by every set, or
        ``{name: labels}`` per set.
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

    Example
    -------
    >>> x = np.random.default_rng(0).normal(size=(8, 3))
    >>> path = str(getfixture("tmp_path") / "tsne.png")
    >>> coords = tsne_plot({"a": x}, list("aabbccdd"), path, n_iter=250)
    >>> coords["a"].shape
    (8, 2)
    """
    if not isinstance(embeddings_by_set, dict) or not embeddings_by_set:
        raise ValueError("embeddings_by_set must be a non-empty dict")
    coords, set_labels = {}, {}
    for name, embeddings in embeddings_by_set.items():
        embeddings = as_float_matrix(embeddings, f"embeddings_by_set[{name!r}]")
        these = labels[name] if isinstance(labels, dict) else labels
        set_labels[name] = as_labels(
            these, embeddings.shape[0], f"labels of set {name!r}"
        )
        coords[name] = tsne_embed(
            embeddings, perplexity=perplexity, n_iter=n_iter, seed=seed
        )
    fig, axes = new_figure(1, len(coords), figsize=(4 * len(coords), 4))
    if fig is None:  # pragma: no cover
        return coords
    from matplotlib import colormaps

    classes = sorted({s for ls in set_labels.values() for s in ls}, key=str)
    cmap = colormaps["tab10" if len(classes) <= 10 else "tab20"]
    colours = {s: cmap(i % cmap.N) for i, s in enumerate(classes)}
    for ax, (name, xy) in zip(axes[0], coords.items(), strict=True):
        for label in classes:
            rows = [i for i, s in enumerate(set_labels[name]) if s == label]
            if rows:
                ax.scatter(
                    xy[rows, 0],
                    xy[rows, 1],
                    s=8,
                    color=colours[label],
                    label=str(label),
                )
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    if len(classes) <= 20:
        axes[0][-1].legend(
            fontsize=7,
            markerscale=2,
            loc="center left",
            bbox_to_anchor=(1, 0.5),
        )
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    logger.info("Wrote t-SNE plot to %s", path)
    return coords
