"""Old module paths of speechbrain-style, kept importable with a warning.

Version 0.1 of the package was flat (``speechbrain_style.losses``,
``speechbrain_style.index``, ...); its modules now live in subpackages by
concept. Code, yaml files and exported inference folders that name an old
path keep working: importing ``speechbrain_style.index`` gives a module
that forwards every attribute to ``speechbrain_style.retrieval.index`` and
emits a ``DeprecationWarning`` naming the new path, once per old module.

Authors
 * speechbrain-style contributors 2026
"""

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED_MODULES = {
    "speechbrain_style.audio": (
        "speechbrain_style.dataio.audio",
        "speechbrain_style.dataio.manifest",
    ),
    "speechbrain_style.caption_evaluation": (
        "speechbrain_style.evaluation.caption"
    ),
    "speechbrain_style.dataprep": "speechbrain_style.dataio.manifest",
    "speechbrain_style.dimensional_evaluation": (
        "speechbrain_style.evaluation.dimensional"
    ),
    "speechbrain_style.dimensional_prompts": (
        "speechbrain_style.prompts.dimensional"
    ),
    "speechbrain_style.export": "speechbrain_style.inference.export",
    "speechbrain_style.factors": "speechbrain_style.corpora.stylesynth.factors",
    "speechbrain_style.fusion": "speechbrain_style.retrieval.fusion",
    "speechbrain_style.index": "speechbrain_style.retrieval.index",
    "speechbrain_style.losses": "speechbrain_style.nnet.losses",
    "speechbrain_style.metrics": "speechbrain_style.evaluation.metrics",
    "speechbrain_style.ordinal_metrics": "speechbrain_style.evaluation.ordinal",
    "speechbrain_style.rank_losses": "speechbrain_style.nnet.rank_losses",
    "speechbrain_style.search": "speechbrain_style.retrieval.backends",
    "speechbrain_style.serve": "speechbrain_style.retrieval.service",
    # split by concept: its names are looked up in these modules, in order
    "speechbrain_style.speaker": (
        "speechbrain_style.nnet.speaker_loss",
        "speechbrain_style.retrieval.alignment",
        "speechbrain_style.evaluation.speaker",
        "speechbrain_style.evaluation.plots",
    ),
    "speechbrain_style.speaker_evaluation": (
        "speechbrain_style.evaluation.speaker"
    ),
    "speechbrain_style.speaker_prompts": "speechbrain_style.prompts.speaker",
    "speechbrain_style.style_prompts": "speechbrain_style.prompts.emotion",
    "speechbrain_style.synth": "speechbrain_style.corpora.stylesynth.synth",
}
"""Old module path -> the module (or modules) that hold its contents now."""

RENAMED = {"speechbrain_style.speaker": {"tsne": "tsne_embed"}}
"""Old module path -> {old name: new name} of the names renamed on the way."""


def targets_of(old):
    """The new modules of an old module path, as a tuple.

    Arguments
    ---------
    old : str
        A key of ``MOVED_MODULES``.

    Returns
    -------
    tuple of str
        The modules that hold its names, searched in order.

    Example
    -------
    >>> targets_of("speechbrain_style.index")
    ('speechbrain_style.retrieval.index',)
    """
    new = MOVED_MODULES[old]
    return (new,) if isinstance(new, str) else tuple(new)


class _ForwardingLoader(importlib.abc.Loader):
    """Makes the old module a forwarder to the new one(s)."""

    def __init__(self, targets, renamed=None):
        self.targets = tuple(targets)
        self.renamed = dict(renamed or {})

    def create_module(self, spec):
        """Default module creation."""
        return None

    def exec_module(self, module):
        """Warns once and forwards attribute access to the new modules."""
        targets = [importlib.import_module(t) for t in self.targets]
        warnings.warn(
            f"{module.__name__} moved to {', '.join(self.targets)}; the old "
            "path will be removed in a future release",
            DeprecationWarning,
            stacklevel=2,
        )
        renamed = self.renamed

        def __getattr__(name):
            """The attribute from the first new module that has it."""
            name = renamed.get(name, name)
            for target in targets:
                if hasattr(target, name):
                    return getattr(target, name)
            raise AttributeError(
                f"module {module.__name__!r} has no attribute {name!r}"
            )

        def __dir__():
            """The names of every new module."""
            return sorted({n for t in targets for n in dir(t)})

        module.__getattr__ = __getattr__
        module.__dir__ = __dir__
        module.__doc__ = "Deprecated alias of " + ", ".join(
            f":mod:`{t}`" for t in self.targets
        )


class _MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the old module paths of ``MOVED_MODULES``."""

    def find_spec(self, fullname, path=None, target=None):
        """A forwarding spec for an old path, None for anything else."""
        if fullname not in MOVED_MODULES:
            return None
        loader = _ForwardingLoader(targets_of(fullname), RENAMED.get(fullname))
        return importlib.util.spec_from_loader(fullname, loader)


def install():
    """Registers the finder of old module paths (idempotent).

    Example
    -------
    >>> import warnings
    >>> install()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     from speechbrain_style.fusion import fuse_queries as old
    >>> from speechbrain_style.retrieval.fusion import fuse_queries
    >>> old is fuse_queries
    True
    """
    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())


def moved_attribute(module_name, old_names):
    """A module ``__getattr__`` serving renamed attributes with a warning.

    Arguments
    ---------
    module_name : str
        ``__name__`` of the module that renamed them.
    old_names : dict
        ``{old_name: new_name}``.

    Returns
    -------
    callable
        To assign to the module's ``__getattr__``.

    Example
    -------
    >>> import sys, types, warnings
    >>> mod = types.ModuleType("m")
    >>> mod.new = 1
    >>> sys.modules["m"] = mod
    >>> mod.__getattr__ = moved_attribute("m", {"old": "new"})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     value = mod.old
    >>> value, caught[0].category.__name__
    (1, 'DeprecationWarning')
    >>> del sys.modules["m"]
    """

    def __getattr__(name):
        if name not in old_names:
            raise AttributeError(
                f"module {module_name!r} has no attribute {name!r}"
            )
        new = old_names[name]
        warnings.warn(
            f"{module_name}.{name} is now {module_name}.{new}; the old name "
            "will be removed in a future release",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(sys.modules[module_name], new)

    return __getattr__


def forward_to(package_name, homes):
    """A package ``__getattr__`` for the names of the flat module it replaced.

    ``speechbrain_style.evaluation`` was a module and is now a package: an
    old ``from speechbrain_style.evaluation import RetrievalEvaluator``
    finds the name in its new home, with a ``DeprecationWarning``.

    Arguments
    ---------
    package_name : str
        ``__name__`` of the package.
    homes : list of str
        Modules that now hold the old module's names, searched in order.

    Returns
    -------
    callable
        To assign to the package's ``__getattr__``.

    Example
    -------
    >>> import warnings
    >>> getter = forward_to("speechbrain_style.prompts",
    ...                     ["speechbrain_style.prompts.bank"])
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     getter("PromptBank").__name__
    'PromptBank'
    """

    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        for home in homes:
            module = importlib.import_module(home)
            if hasattr(module, name):
                warnings.warn(
                    f"{package_name}.{name} is now {home}.{name}; the old "
                    "path will be removed in a future release",
                    DeprecationWarning,
                    stacklevel=2,
                )
                return getattr(module, name)
        raise AttributeError(
            f"module {package_name!r} has no attribute {name!r}"
        )

    return __getattr__


__all__ = [
    "MOVED_MODULES",
    "RENAMED",
    "forward_to",
    "install",
    "moved_attribute",
    "targets_of",
]
