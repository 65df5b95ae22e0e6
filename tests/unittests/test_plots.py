"""The package's plots: PNGs written without touching the user's pyplot."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")

from speechbrain_style.evaluation.ordinal import (  # noqa: E402
    plot_similarity_vs_values,
)
from speechbrain_style.evaluation.plots import (  # noqa: E402
    new_figure,
    save_figure,
    tsne_plot,
)
from speechbrain_style.evaluation.retrieval import (  # noqa: E402
    plot_per_class,
    plot_results,
)

PNG = b"\x89PNG\r\n\x1a\n"


def _results():
    """A RetrievalEvaluator-shaped result with one field and two banks."""
    classes = ["happy", "sad", "angry"]
    field = {
        "classes": classes,
        "t2s": {"R@1": 0.5, "mAP@10": 0.6},
        "s2t": {"R@1": 0.4},
        "trials": {
            "average": {"R@1": 0.3, "R@5": 0.7},
            **{
                c: {"R@1": 0.2 + 0.1 * i, "R@5": 0.8}
                for i, c in enumerate(classes)
            },
        },
    }
    return {
        "fields": {"train": {"emotion": field}, "heldout": {"emotion": field}}
    }


def _draw_everything(folder):
    """Every plot function of the package, each to its own PNG."""
    rng = np.random.default_rng(0)
    paths = [folder / f"{name}.png" for name in ("sim", "tsne", "res", "cls")]
    plot_similarity_vs_values(
        rng.normal(size=30),
        rng.integers(1, 6, size=30),
        str(paths[0]),
        xlabel="arousal",
    )
    tsne_plot(
        {"speech": rng.normal(size=(12, 4))},
        list("aaaabbbbcccc"),
        str(paths[1]),
        perplexity=3,
        n_iter=250,
    )
    assert plot_results(_results(), str(paths[2]))
    assert plot_per_class(_results(), "emotion", str(paths[3]))
    return paths


def test_plots_write_pngs_and_leave_pyplot_alone(tmp_path):
    import matplotlib.pyplot as plt

    plt.switch_backend("svg")  # a backend the user chose, not Agg
    try:
        before = plt.get_fignums()
        paths = _draw_everything(tmp_path)
        assert matplotlib.get_backend() == "svg"
        # nothing registered with pyplot: no figure left open
        assert plt.get_fignums() == before
    finally:
        plt.switch_backend("agg")
    for path in paths:
        assert path.read_bytes()[:8] == PNG, path
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in paths
    ), "a temporary file was left behind"


def test_save_figure_replaces_atomically(tmp_path):
    path = tmp_path / "plot.png"
    path.write_bytes(b"old")
    fig, axes = new_figure(2, 3)
    assert axes.shape == (2, 3)
    axes[1, 2].plot([0, 1], [0, 1])
    assert save_figure(fig, path) == str(path)
    assert path.read_bytes()[:8] == PNG
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]
