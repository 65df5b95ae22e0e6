"""Installation script for speechbrain-style."""

import os

from setuptools import find_packages, setup

here = os.path.dirname(os.path.abspath(__file__))


def read_requirements(name):
    """Reads a requirements file, ignoring comments and blank lines."""
    with open(os.path.join(here, name), encoding="utf-8") as fin:
        lines = (line.split("#")[0].strip() for line in fin)
        return [line for line in lines if line]


with open(os.path.join(here, "README.md"), encoding="utf-8") as fin:
    long_description = fin.read()

extras = {
    "emotion2vec": ["funasr==1.4.16"],
    "faiss": ["faiss-cpu==1.15.1"],
    # the parquet annotation files of ParaSpeechCaps (and their fake tree)
    "paraspeechcaps": ["pyarrow==26.0.1"],
    # selenium drives Debian's chromium in the search page's browser test
    "dev": ["pytest>=8", "ruff>=0.6", "selenium==4.51.0", "pyarrow==26.0.1"],
}
extras["all"] = sorted({req for reqs in extras.values() for req in reqs})

setup(
    name="speechbrain-style",
    version="0.1.0",
    description=(
        "SpeechBrain plugin: retrieve speech by natural-language descriptions "
        "of speaking style, and describe speech in words (CLAP-style "
        "contrastive speech-text training)."
    ),
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=find_packages(
        include=["speechbrain_style", "speechbrain_style.*"]
    ),
    package_data={"speechbrain_style": ["data/*.txt", "data/*.json"]},
    install_requires=read_requirements("requirements.txt"),
    extras_require=extras,
    entry_points={
        "console_scripts": ["speechbrain-style=speechbrain_style.cli:main"]
    },
)
