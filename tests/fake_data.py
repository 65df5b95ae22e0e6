"""Builders of fake dataset trees that mimic the real layouts.

One ``make_fake_<dataset>(root, ...) -> path`` function per dataset, shared
by the data-preparation unit tests and the recipe tests.
"""

# IEMOCAP: (turn suffix, category, [valence, activation, dominance], text) of
# the two dialogs of every fake session, Ses0<s>F_impro01 and
# Ses0<s>M_script01_1. The j-th turn of a dialog lasts 0.2 + 0.05 j seconds.
FAKE_IEMOCAP_DIALOGS = {
    "F_impro01": [
        ("F000", "neu", (2.5, 2.5, 2.5), "Excuse me."),
        ("M000", "ang", (1.5, 4.0, 4.5), "Do you have your forms?"),
        ("F001", "exc", (4.0, 3.5, 3.0), "Yeah, I've got them."),
        ("M001", "hap", (4.5, 3.0, 3.5), "Great, let me see."),
        ("F002", "fru", (2.0, 3.5, 3.5), "This is the third time."),
        ("M002", "xxx", (2.5, 3.0, 3.0), "Okay."),
    ],
    "M_script01_1": [
        ("F000", "sad", (1.5, 2.0, 2.0), "I miss him."),
        ("M000", "sur", (3.5, 4.0, 3.0), "What? Really?"),
        ("F001", "fea", (2.0, 4.0, 1.5), "Somebody is outside."),
        ("M001", "dis", (1.5, 3.5, 4.0), "That is revolting."),
        ("F002", "oth", (3.0, 3.0, 3.0), "Hmm."),
        ("M002", "neu", (3.0, 2.0, 2.5), "It's on the table."),
    ],
}


def make_fake_iemocap(root, sessions=(1, 2, 3), missing_wavs=(), seed=0):
    """Builds a tiny tree in the layout of ``IEMOCAP_full_release``.

    Every session ``s`` holds the two dialogs of ``FAKE_IEMOCAP_DIALOGS``
    (``Ses0<s>F_impro01`` and ``Ses0<s>M_script01_1``, 12 annotated turns:
    per label set, "paper9" keeps 10 (skips xxx, oth), "four" keeps 6):
    ``dialog/EmoEvaluation/<dialog>.txt`` (header, summary lines, annotator
    lines, plus the ``Categorical``/``Attribute``/``Self-evaluation``
    sub-folders), ``dialog/transcriptions/<dialog>.txt`` (with an extra
    unsegmented ``XX`` turn and a stray line) and
    ``sentences/wav/<dialog>/<turn>.wav`` (16 kHz noise, the j-th turn of a
    dialog lasting ``0.2 + 0.05 * j`` s).

    Arguments
    ---------
    root : str or path
        Folder in which ``IEMOCAP_full_release`` is created.
    sessions : tuple of int
        The sessions to create (1-5).
    missing_wavs : tuple of str
        Turn names (e.g. ``"Ses01F_impro01_M001"``) annotated but left
        without a wav.
    seed : int
        Seed of the noise.

    Returns
    -------
    str
        The path of the ``IEMOCAP_full_release`` folder.
    """
    import os

    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    release = os.path.join(str(root), "IEMOCAP_full_release")
    for session in sessions:
        prefix = f"Ses{session:02d}"
        session_dir = os.path.join(release, f"Session{session}")
        emo_dir = os.path.join(session_dir, "dialog", "EmoEvaluation")
        trans_dir = os.path.join(session_dir, "dialog", "transcriptions")
        for sub in ("Categorical", "Attribute", "Self-evaluation"):
            os.makedirs(os.path.join(emo_dir, sub), exist_ok=True)
        os.makedirs(trans_dir, exist_ok=True)
        for suffix, turns in FAKE_IEMOCAP_DIALOGS.items():
            dialog = prefix + suffix
            wav_dir = os.path.join(session_dir, "sentences", "wav", dialog)
            os.makedirs(wav_dir, exist_ok=True)
            emo = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
            trans, cat, atr = [], [], []
            start = 1.0
            for j, (spk, category, vad, text) in enumerate(turns):
                turn = f"{dialog}_{spk}"
                duration = 0.2 + 0.05 * j
                stop = start + duration
                v, a, d = vad
                emo += [
                    f"[{start:.4f} - {stop:.4f}]\t{turn}\t{category}\t"
                    f"[{v:.4f}, {a:.4f}, {d:.4f}]",
                    "C-E2:\tNeutral;\t()",
                    "C-E3:\tFrustration; Anger;\t()",
                    "C-F1:\tOther:bored;\t(flat tone)",
                    f"A-E3:\tval {int(v)}; act {int(a)}; dom  {int(d)};\t()",
                    "A-F1:\tval 3; act 2; dom  1;\t()",
                    "",
                ]
                trans.append(f"{turn} [{start:08.4f}-{stop:08.4f}]: {text}")
                cat.append(f"{turn} :Neutral state; ()")
                atr.append(f"{turn} :act 2; val 3; dom  2; ()")
                if turn not in missing_wavs:
                    samples = int(round(duration * 16000))
                    noise = 0.1 * rng.standard_normal(samples)
                    sf.write(
                        os.path.join(wav_dir, f"{turn}.wav"),
                        noise.astype("float32"),
                        16000,
                        subtype="PCM_16",
                    )
                start = stop + 0.5
            xx = dialog + "_" + turns[-1][0][0] + "XX0"
            trans.append(f"{xx} [{start:08.4f}-{start + 1:08.4f}]: [LAUGHTER]")
            trans.append("M: [BREATHING]")
            files = {
                os.path.join(emo_dir, f"{dialog}.txt"): emo,
                os.path.join(trans_dir, f"{dialog}.txt"): trans,
                os.path.join(emo_dir, "Categorical", f"{dialog}_e2_cat.txt"): (
                    cat
                ),
                os.path.join(emo_dir, "Attribute", f"{dialog}_e3_atr.txt"): (
                    atr
                ),
                os.path.join(
                    emo_dir, "Self-evaluation", f"{dialog}_self.txt"
                ): atr,
            }
            for path, lines in files.items():
                with open(path, "w", encoding="utf-8") as fout:
                    fout.write("\n".join(lines) + "\n")
    return release


# ESD: encodings of the transcript files and the Mandarin emotion words.
FAKE_ESD_ENCODINGS = {
    **dict.fromkeys(("0001", "0002", "0004", "0005", "0009"), "gb2312"),
    **dict.fromkeys(
        ("0003", "0006", "0007", "0008", "0010", "0012", "0013", "0014")
        + ("0018", "0019"),
        "utf-16",
    ),
    **dict.fromkeys(("0011", "0015", "0020"), "utf-8"),
    **dict.fromkeys(("0016", "0017"), "latin-1"),
}
FAKE_ESD_EMOTIONS = ("Neutral", "Angry", "Happy", "Sad", "Surprise")
FAKE_ESD_ZH_WORDS = ("中立", "生气", "快乐", "伤心", "惊喜")


def fake_esd_transcript(spk_id, number):
    """The transcript text of utterance ``number`` of a fake ESD speaker.

    Mandarin speakers (0001-0010) get Chinese text, speakers 0016/0017
    (latin-1 files) a word with an accent, the others plain English.

    Arguments
    ---------
    spk_id : str
        Four-digit speaker id.
    number : int
        Utterance number.

    Returns
    -------
    str
        The text.
    """
    if int(spk_id) <= 10:
        return f"打远一看，它们的确很是美丽{number}。"
    if FAKE_ESD_ENCODINGS[spk_id] == "latin-1":
        return f"The café opens at {number}, she said."
    return f"Sentence {number}, for the test."


def make_fake_esd(
    root,
    speakers=("0001", "0012", "0016"),
    utts_per_emotion=60,
    layouts=None,
    corrupt_speakers=(),
    duration=0.1,
    seed=0,
):
    """Builds a tiny tree in the layout of ESD's ``Emotion Speech Dataset``.

    For every speaker: ``<spk>/<spk>.txt`` (``id<TAB>text<TAB>emotion`` in
    the speaker's real encoding, Chinese emotion words for Mandarin
    speakers, the line of utterance 2 separated by spaces instead of tabs)
    and ``<Emotion>/`` folders of 16 kHz noise wavs. Utterance numbers follow
    the ESD rule (emotion ``e`` holds ``350 e + 1 ... 350 e + k``), so
    ``utts_per_emotion`` files per emotion. Layout "A" puts the wavs in
    ``evaluation`` (first 20), ``test`` (next 30) and ``train`` (rest)
    subfolders; layout "B" is flat.

    Arguments
    ---------
    root : str or path
        Folder in which ``Emotion Speech Dataset`` is created.
    speakers : tuple of str
        Speaker ids (0001-0020).
    utts_per_emotion : int
        Wavs per speaker and emotion (at most 350).
    layouts : dict, optional
        Speaker -> "A" or "B"; by default the speakers alternate A, B, A...
    corrupt_speakers : tuple of str
        Speakers whose transcript line of utterance 3 is corrupted (bytes
        that do not decode; for latin-1 files, which decode anything, the
        line loses its id): one bad line each, utterance 3 left without
        transcript.
    duration : float
        Seconds per wav.
    seed : int
        Seed of the noise.

    Returns
    -------
    str
        The path of the ``Emotion Speech Dataset`` folder.
    """
    import os

    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    dataset = os.path.join(str(root), "Emotion Speech Dataset")
    layouts = layouts or {spk: "AB"[i % 2] for i, spk in enumerate(speakers)}
    samples = round(duration * 16000)
    for spk in speakers:
        spk_dir = os.path.join(dataset, spk)
        encoding = FAKE_ESD_ENCODINGS[spk]
        mandarin = int(spk) <= 10
        lines = []
        for e, emotion in enumerate(FAKE_ESD_EMOTIONS):
            word = FAKE_ESD_ZH_WORDS[e] if mandarin else emotion
            for k in range(utts_per_emotion):
                number = 350 * e + k + 1
                utt_id = f"{spk}_{number:06d}"
                text = fake_esd_transcript(spk, number)
                sep = " " if number == 2 else "\t"
                line = f"{utt_id}{sep}{text}{sep}{word}"
                if number == 3 and spk in corrupt_speakers:
                    if encoding == "latin-1":
                        line = f"\t{text}\t{word}"
                    elif encoding == "utf-16":
                        line = f"{utt_id}\t\ud800{text}\t{word}"
                    else:
                        line = f"{utt_id}\t\udcff\udcfe{text}\t{word}"
                lines.append(line)
                if layouts[spk] == "A":
                    folder = "train"
                    if k < 50:
                        folder = "evaluation" if k < 20 else "test"
                    wav_dir = os.path.join(spk_dir, emotion, folder)
                else:
                    wav_dir = os.path.join(spk_dir, emotion)
                os.makedirs(wav_dir, exist_ok=True)
                noise = 0.1 * rng.standard_normal(samples)
                sf.write(
                    os.path.join(wav_dir, f"{utt_id}.wav"),
                    noise.astype("float32"),
                    16000,
                    subtype="PCM_16",
                )
        text = "\n".join(lines) + "\n"
        if encoding == "utf-16":
            # A lone surrogate is written as its raw (undecodable) code unit.
            raw = text.encode("utf-16", errors="surrogatepass")
        else:
            # Lone low surrogates \udcXX become the raw bytes 0xXX.
            raw = text.encode(encoding, errors="surrogateescape")
        with open(os.path.join(spk_dir, f"{spk}.txt"), "wb") as fout:
            fout.write(raw)
    return dataset


# Expresso: the fake tree of make_fake_expresso. Read files:
# (speaker, style folder, base|longform, file name, seconds).
FAKE_EXPRESSO_READ = [
    ("ex01", "happy", "base", "ex01_happy_00001", 2.0),
    ("ex01", "happy", "base", "ex01_happy_00002", 1.5),
    ("ex02", "sad", "base", "ex02_sad_00001", 2.0),
    ("ex01", "default", "base", "ex01_default_emphasis_00001", 2.5),
    ("ex02", "whisper", "base", "ex02_whisper_00003", 1.2),
    ("ex03", "confused", "base", "ex03_confused_00001", 1.0),
    ("ex02", "default", "longform", "ex02_default_00001", 25.0),
    ("ex01", "narration", "longform", "ex01_narration_00001", 12.0),
]
# Stereo dialogues: (speaker pair, style folder, file name, seconds).
FAKE_EXPRESSO_CONVERSATIONAL = [
    ("ex01-ex02", "angry", "ex01-ex02_angry_001", 25.0),
    ("ex03-ex04", "sad-sympathetic", "ex03-ex04_sad-sympathetic_002", 24.0),
]
# Split-file entries (name, bounds or None); ex03_confused_00001 is in none.
FAKE_EXPRESSO_SPLITS = {
    "train": [
        ("ex01_happy_00001", None),
        ("ex01_default_emphasis_00001", None),
        ("ex02_whisper_00003", None),
        ("ex02_default_00001", "(,12.0s)"),
        ("ex01_narration_00001", None),
        ("ex01-ex02_angry_001", "(16.0s,)"),
        ("ex03-ex04_sad-sympathetic_002", None),
    ],
    "dev": [
        ("ex01_happy_00002", None),
        ("ex01-ex02_angry_001", "(,8.0s)"),
    ],
    "test": [
        ("ex02_sad_00001", None),
        ("ex02_default_00001", "(12.0s,)"),
        ("ex01-ex02_angry_001", "(8.0s,16.0s)"),
    ],
}
# Voice-activity segments (seconds) per dialogue and channel (1 = left).
FAKE_EXPRESSO_VAD = {
    ("ex01-ex02_angry_001", 1): [
        (0.5, 3.0),
        (3.5, 6.0),
        (7.0, 9.5),
        (10.0, 10.6),
        (12.0, 23.5),
    ],
    ("ex01-ex02_angry_001", 2): [(1.0, 1.6), (16.5, 17.2), (18.0, 24.9)],
    ("ex03-ex04_sad-sympathetic_002", 1): [(0.0, 22.0)],
    ("ex03-ex04_sad-sympathetic_002", 2): [
        (2.0, 2.5),
        (6.0, 6.4),
        (20.0, 21.5),
    ],
}
FAKE_EXPRESSO_TRANSCRIPTS = {
    "ex01_happy_00001": "What a lovely morning it is.",
    "ex01_happy_00002": "We won the game!",
    "ex02_sad_00001": "I lost my keys again.",
    "ex01_default_emphasis_00001": "I said the RED one, not the blue one.",
    "ex02_whisper_00003": "Keep quiet, they are sleeping.",
    "ex03_confused_00001": "Wait, which way is north?",
    "ex02_default_00001": "Once upon a time there was a long story.",
    "ex01_narration_00001": "Chapter one. The house stood on a hill.",
}


def make_fake_expresso(root, sample_rate=48000, seed=0):
    """Builds a tiny tree in the layout of the Expresso ``expresso`` folder.

    ``expresso/`` holds ``read_transcriptions.txt`` (``name<TAB>text``),
    ``VAD_segments.txt`` (``name/channel1<TAB>(a, b) (c, d)``),
    ``splits/{train,dev,test}.txt`` (a ``#`` comment line, then ``name`` or
    ``name<TAB>(start,end)`` entries with optional bounds; see
    ``FAKE_EXPRESSO_SPLITS``) and 16-bit wavs of low-amplitude noise:
    the mono read files of ``FAKE_EXPRESSO_READ`` under
    ``audio_48khz/read/{spk}/{style}/{base|longform}/`` and the stereo
    dialogues of ``FAKE_EXPRESSO_CONVERSATIONAL`` under
    ``audio_48khz/conversational/{spkL-spkR}/{styles}/`` (the left channel
    has about half the amplitude of the right one, so a test can tell them
    apart).

    With the default 19 evaluation styles, min 1 s, max 10 s and max gap 2 s
    of ``prepare_expresso`` the tree gives 11 train, 2 valid and 4 test
    items; skipped: 1 file in no split (ex03_confused_00001), 1 unselected
    style (narration, 2 more train chunks with ``styles="all"``) and 3 VAD
    pieces shorter than 1 s.

    Arguments
    ---------
    root : str or os.PathLike
        Folder in which ``expresso/`` is created.
    sample_rate : int
        Sample rate of the wavs.
    seed : int
        Seed of the noise.

    Returns
    -------
    pathlib.Path
        The ``expresso`` folder (the ``data_folder`` of the recipe).
    """
    import pathlib

    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    data = pathlib.Path(root) / "expresso"
    audio = data / "audio_48khz"

    def noise(seconds, channels, scale):
        frames = int(round(seconds * sample_rate))
        wav = rng.normal(0.0, scale, size=(frames, channels))
        return np.clip(wav, -0.5, 0.5).astype(np.float32)

    for spk, style, subset, name, seconds in FAKE_EXPRESSO_READ:
        folder = audio / "read" / spk / style / subset
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(
            folder / f"{name}.wav",
            noise(seconds, 1, 0.02)[:, 0],
            sample_rate,
            subtype="PCM_16",
        )
    for pair, styles, name, seconds in FAKE_EXPRESSO_CONVERSATIONAL:
        folder = audio / "conversational" / pair / styles
        folder.mkdir(parents=True, exist_ok=True)
        wav = noise(seconds, 2, 0.02)
        wav[:, 0] *= 0.5
        sf.write(folder / f"{name}.wav", wav, sample_rate, subtype="PCM_16")

    splits = data / "splits"
    splits.mkdir(parents=True, exist_ok=True)
    for split, entries in FAKE_EXPRESSO_SPLITS.items():
        lines = [f"# Expresso {split} split: name<TAB>(start,end) optional"]
        for name, bounds in entries:
            lines.append(name if bounds is None else f"{name}\t{bounds}")
        (splits / f"{split}.txt").write_text(
            "\n".join(lines) + "\n", encoding="utf-8"
        )
    vad_lines = []
    for (name, channel), segments in FAKE_EXPRESSO_VAD.items():
        spans = " ".join(f"({a}, {b})" for a, b in segments)
        vad_lines.append(f"{name}/channel{channel}\t{spans}")
    (data / "VAD_segments.txt").write_text(
        "\n".join(vad_lines) + "\n", encoding="utf-8"
    )
    (data / "read_transcriptions.txt").write_text(
        "".join(
            f"{name}\t{text}\n"
            for name, text in FAKE_EXPRESSO_TRANSCRIPTS.items()
        ),
        encoding="utf-8",
    )
    return data


# VoxCeleb1: lines of vox1_meta.csv as in the real file (tab-separated,
# some with trailing or extra spaces); id10003 has no audio.
FAKE_VOXCELEB_META_LINES = (
    "VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet",
    "id10001\tA.J._Buckley\tm\tIreland\tdev",
    "id10002\tA.R._Rahman\tm\tIndia\tdev ",
    "id10003\tAamir_Khan\tm\tIndia\tdev",
    "id10006\tAbbie_Cornish\tf\tAustralia \tdev  ",
    "id10270\tEartha_Kitt\tf\tUSA\ttest",
    "id10271\tEd_Westwick\tm\t UK\ttest\t",
)
FAKE_VOXCELEB_SPEAKERS = ("id10001", "id10002", "id10006", "id10270", "id10271")
# Speaker folder with audio but no metadata line.
FAKE_VOXCELEB_ORPHAN = "id10999"
FAKE_VOXCELEB_VIDEOS = (
    "1zcIwhmdeo4",
    "7w0IBEWc9Qw",
    "-2ZqV_Lmw4c",
    "Y8hIVOBuels",
)


def make_fake_voxceleb(
    root,
    speakers=FAKE_VOXCELEB_SPEAKERS,
    videos_per_speaker=2,
    utts_per_video=2,
    orphan=True,
    seed=0,
):
    """Builds a tiny tree in the layout of VoxCeleb1.

    ``vox1_meta.csv`` holds ``FAKE_VOXCELEB_META_LINES`` (header, 4 dev
    and 2 test speakers; id10003 has no audio) and
    ``wav/<spk>/<video>/<nnnnn>.wav`` holds 16 kHz noise for ``speakers``
    (files are numbered from 00001 in every video, as in the real data;
    file n lasts ``0.2 + 0.05 * (n - 1)`` s), plus, with
    ``orphan``, one wav of ``FAKE_VOXCELEB_ORPHAN``, a speaker missing from
    the metadata.

    Arguments
    ---------
    root : str or path
        Folder to create (the VoxCeleb1 data_folder).
    speakers : tuple of str
        Speakers to give audio to.
    videos_per_speaker : int
        Videos per speaker (at most 4).
    utts_per_video : int
        Utterances per video.
    orphan : bool
        Whether to add the speaker without metadata.
    seed : int
        Seed of the noise.

    Returns
    -------
    str
        The path of the data folder.
    """
    import os

    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    root = str(root)
    wav_root = os.path.join(root, "wav")
    layout = dict.fromkeys(speakers, FAKE_VOXCELEB_VIDEOS[:videos_per_speaker])
    if orphan:
        layout[FAKE_VOXCELEB_ORPHAN] = FAKE_VOXCELEB_VIDEOS[:1]
    for spk, videos in layout.items():
        for video in videos:
            folder = os.path.join(wav_root, spk, video)
            os.makedirs(folder, exist_ok=True)
            count = 1 if spk == FAKE_VOXCELEB_ORPHAN else utts_per_video
            for number in range(1, count + 1):
                seconds = 0.2 + 0.05 * (number - 1)
                wav = 0.05 * rng.standard_normal(int(seconds * 16000))
                sf.write(
                    os.path.join(folder, f"{number:05d}.wav"),
                    wav,
                    16000,
                    subtype="PCM_16",
                )
    with open(os.path.join(root, "vox1_meta.csv"), "w", encoding="utf-8") as f:
        f.write("\n".join(FAKE_VOXCELEB_META_LINES) + "\n")
    return root


# MSP-Podcast: the rows of the fake consensus label file, in the real
# column order FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,
# Split_Set (A/V/D on 1-7). The j-th row's wav lasts 0.2 + 0.05 j s.
FAKE_MSP_PODCAST_ROWS = (
    ("MSP-PODCAST_0001_0008.wav", "N", 3.2, 4.0, 3.4, "127", "Male", "Train"),
    ("MSP-PODCAST_0001_0011.wav", "H", 5.2, 6.0, 4.8, "127", "Male", "Train"),
    (
        "MSP-PODCAST_0002_0003.wav",
        "A",
        6.4,
        1.8,
        5.6,
        "Unknown",
        "Unknown",
        "Train",
    ),
    ("MSP-PODCAST_0003_0015.wav", "S", 2.0, 2.2, 2.6, "311", "Female", "Train"),
    (
        "MSP-PODCAST_0004_0001.wav",
        "X",
        4.0,
        4.0,
        4.0,
        "311",
        "Female",
        "Development",
    ),
    (
        "MSP-PODCAST_0004_0002.wav",
        "U",
        5.8,
        4.6,
        4.2,
        "45",
        "Female",
        "Development",
    ),
    ("MSP-PODCAST_0005_0001.wav", "F", 5.0, 2.4, 2.2, "512", "Male", "Test1"),
    ("MSP-PODCAST_0005_0002.wav", "D", 4.4, 2.0, 4.6, "512", "Male", "Test1"),
    ("MSP-PODCAST_0006_0004.wav", "C", 3.8, 2.8, 5.0, "600", "Female", "Test1"),
    ("MSP-PODCAST_0007_0001.wav", "O", 3.6, 3.6, 3.4, "700", "Male", "Test2"),
    ("MSP-PODCAST_0007_0002.wav", "N", 4.0, 4.2, 4.0, "700", "Male", "Test2"),
    (
        "MSP-PODCAST_0008_0001.wav",
        "H",
        4.6,
        5.4,
        4.4,
        "Unknown",
        "Unknown",
        "Test3",
    ),
)


def make_fake_msp_podcast(
    root,
    label_file="labels_consensus.csv",
    nested_audios=False,
    valid_name="Development",
    missing_wavs=(),
    seed=0,
):
    """Builds a tiny tree in the layout of a MSP-Podcast release.

    ``Labels/<label_file>`` holds the header and ``FAKE_MSP_PODCAST_ROWS``
    (4 Train, 2 Development, 3 Test1, 2 Test2, 1 Test3; values written with
    6 decimals, as in the release) and ``Audios/`` (or ``Audios/Audios/``
    with ``nested_audios``) one 16 kHz noise wav per row.

    Arguments
    ---------
    root : str or path
        Folder in which ``MSP-Podcast`` is created.
    label_file : str
        "labels_consensus.csv" or the older "labels_concensus.csv".
    nested_audios : bool
        Put the wavs in ``Audios/Audios`` as some zip archives do.
    valid_name : str
        Split_Set of the validation rows ("Development" or "Validation").
    missing_wavs : tuple of str
        FileNames (e.g. "MSP-PODCAST_0001_0011.wav") listed without a wav.
    seed : int
        Seed of the noise.

    Returns
    -------
    str
        The path of the release folder.
    """
    import os

    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    release = os.path.join(str(root), "MSP-Podcast")
    audio_dir = os.path.join(release, "Audios")
    if nested_audios:
        audio_dir = os.path.join(audio_dir, "Audios")
    labels_dir = os.path.join(release, "Labels")
    os.makedirs(audio_dir, exist_ok=True)
    os.makedirs(labels_dir, exist_ok=True)
    lines = ["FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"]
    for j, row in enumerate(FAKE_MSP_PODCAST_ROWS):
        name, code, act, val, dom, spk, gender, split = row
        if split == "Development":
            split = valid_name
        lines.append(
            f"{name},{code},{act:.6f},{val:.6f},{dom:.6f},{spk},{gender},"
            f"{split}"
        )
        if name in missing_wavs:
            continue
        wav = 0.05 * rng.standard_normal(int((0.2 + 0.05 * j) * 16000))
        sf.write(os.path.join(audio_dir, name), wav, 16000, subtype="PCM_16")
    with open(
        os.path.join(labels_dir, label_file), "w", encoding="utf-8"
    ) as fout:
        fout.write("\n".join(lines) + "\n")
    return release


# Clotho v2.1: per split, (file name, 5 captions, keywords, manufacturer) of
# the fake clips. Names have spaces and a Latin-1 letter (written UTF-8 in
# the captions csv, ISO-8859-1 in the metadata csv); one caption holds a
# comma and quotes, as real ones do. The j-th clip of a split lasts
# 0.3 + 0.1 j s at 44.1 kHz.
FAKE_CLOTHO_CLIPS = {
    "development": [
        ("Rain on roof.wav", "rain;roof", "josué"),
        ("Dog barking 01.wav", "dog;bark", "fred"),
        ("Café ambience.wav", "café;people", "anne"),
        ("Birds at dawn.wav", "birds", "jo"),
        ("Car passing by.wav", "car;street", "lee"),
        ("Footsteps gravel.wav", "steps", "max"),
    ],
    "validation": [
        ("Thunder far away.wav", "thunder", "kim"),
        ("Water drip.wav", "water", "sam"),
        ("Typing keyboard.wav", "office", "ida"),
    ],
    "evaluation": [
        ("Train station.wav", "train", "bo"),
        ("Wind chimes.wav", "wind", "al"),
        ("Crowd cheering.wav", "crowd", "zoé"),
    ],
}
FAKE_CLOTHO_ORPHAN = "Unlisted noise.wav"


def fake_clotho_captions(file_name):
    """The 5 fake captions of a fake Clotho clip (deterministic)."""
    stem = file_name[:-4].lower()
    return [
        f"the sound of {stem}",
        f"someone records {stem} nearby",
        f'a recording of {stem}, then "silence"',
        f"{stem} can be heard",
        f"in the distance, {stem}",
    ]


def make_fake_clotho(
    root, missing_audio=(), orphan=True, sample_rate=44100, seed=0
):
    """Builds a tiny tree in the layout of Clotho v2.1 (Zenodo 4783391).

    ``clotho_captions_{split}.csv`` (utf-8: ``file_name,caption_1,...,
    caption_5``), ``clotho_metadata_{split}.csv`` (ISO-8859-1:
    ``file_name,keywords,sound_id,sound_link,start_end_samples,
    manufacturer,license``) and the wavs under ``development/``,
    ``validation/``, ``evaluation/`` for the clips of ``FAKE_CLOTHO_CLIPS``
    (6, 3 and 3), with ``fake_clotho_captions`` as captions.

    Arguments
    ---------
    root : str or path
        The Clotho data folder to create.
    missing_audio : tuple of str
        File names listed in the csvs but with no wav.
    orphan : bool
        Add ``development/<FAKE_CLOTHO_ORPHAN>``, a wav with no caption row.
    sample_rate : int
        Sample rate of the wavs.
    seed : int
        Seed of the noise.

    Returns
    -------
    str
        The path of the data folder.
    """
    import csv
    import os

    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    root = str(root)
    sound_id = 1000
    for split, clips in FAKE_CLOTHO_CLIPS.items():
        folder = os.path.join(root, split)
        os.makedirs(folder, exist_ok=True)
        captions_path = os.path.join(root, f"clotho_captions_{split}.csv")
        with open(captions_path, "w", encoding="utf-8", newline="") as fout:
            writer = csv.writer(fout)
            writer.writerow(
                ["file_name"] + [f"caption_{i}" for i in range(1, 6)]
            )
            for name, _, _ in clips:
                writer.writerow([name, *fake_clotho_captions(name)])
        metadata_path = os.path.join(root, f"clotho_metadata_{split}.csv")
        with open(
            metadata_path, "w", encoding="ISO-8859-1", newline=""
        ) as fout:
            writer = csv.writer(fout)
            writer.writerow(
                [
                    "file_name",
                    "keywords",
                    "sound_id",
                    "sound_link",
                    "start_end_samples",
                    "manufacturer",
                    "license",
                ]
            )
            for name, keywords, maker in clips:
                sound_id += 1
                writer.writerow(
                    [
                        name,
                        keywords,
                        sound_id,
                        f"https://freesound.org/people/{maker}/sounds/"
                        f"{sound_id}",
                        "[0, 1323000]",
                        maker,
                        "http://creativecommons.org/licenses/by/3.0/",
                    ]
                )
        names = [name for name, _, _ in clips]
        if orphan and split == "development":
            names.append(FAKE_CLOTHO_ORPHAN)
        for j, name in enumerate(names):
            if name in missing_audio:
                continue
            wav = 0.05 * rng.standard_normal(int((0.3 + 0.1 * j) * sample_rate))
            sf.write(
                os.path.join(folder, name), wav, sample_rate, subtype="PCM_16"
            )
    return root


# AudioCaps: (audiocap_id, youtube_id, start_time, caption) rows of the fake
# csvs; train has one caption per clip, val and test five. Ids as in the
# real data (11 characters, may start with "-").
FAKE_AUDIOCAPS_ROWS = {
    "train": [
        (91139, "r1nicOVtvkQ", 130, "A woman talks nearby as water pours"),
        (58146, "UDGBjjwyaqE", 20, "Multiple clanging and clanking sounds"),
        (11542, "--0w1YA1Hm4", 30, "A vehicle driving as a man speaks"),
        (63612, "7fmOlUlwoNg", 20, "Constant rattling noise and sharp beeps"),
        (79024, "6BJ455B1aAs", 0, "A goat bleating and people talking"),
        (80134, "QOmV7O58xpQ", 40, "Birds chirping over wind noise"),
        (12345, "zzMissing01", 10, "A clip that could not be downloaded"),
    ],
    "val": [
        (97151 + 5 * i + j, ytid, start, f"{text} ({j + 1})")
        for i, (ytid, start, text) in enumerate(
            [
                ("rqfQRErjfk8", 170, "A large crowd cheers and applauds"),
                ("rqu8iB22I_Y", 0, "Food frying with sizzling"),
                ("ZYWCwfCkBp4", 60, "A woman speaks and a dog barks"),
            ]
        )
        for j in range(5)
    ],
    "test": [
        (103549 + 5 * i + j, ytid, start, f"{text} ({j + 1})")
        for i, (ytid, start, text) in enumerate(
            [
                ("--U7joUcTCo", 0, "A man speaks and a machine whirs"),
                ("-0Gj8-vB1q4", 30, "Wind blows hard and rain falls"),
                ("-0RWZT-miFs", 420, "A train horn blows loudly"),
                ("zzMissing02", 50, "Another clip that is gone"),
            ]
        )
        for j in range(5)
    ],
}
FAKE_AUDIOCAPS_MISSING = ("zzMissing01", "zzMissing02")


def make_fake_audiocaps(root, sample_rate=48000, seed=0):
    """Builds a tiny AudioCaps folder: the csvs and downloaded clips.

    ``dataset/{train,val,test}.csv`` (``audiocap_id,youtube_id,start_time,
    caption``, the layout of github.com/cdjkim/audiocaps) with
    ``FAKE_AUDIOCAPS_ROWS`` (train: 7 clips x 1 caption; val: 3 x 5; test:
    4 x 5), and ``audio/`` with one wav per clip named by youtube id, except
    ``FAKE_AUDIOCAPS_MISSING`` (not downloadable). As downloaders do, one
    clip is saved as ``Y<youtube_id>.wav`` (AudioSet style) and the test
    clips in an ``audio/test/`` subfolder. The j-th clip of a split lasts
    0.3 + 0.1 j s.

    Arguments
    ---------
    root : str or path
        The AudioCaps data folder to create.
    sample_rate : int
        Sample rate of the wavs.
    seed : int
        Seed of the noise.

    Returns
    -------
    str
        The path of the data folder.
    """
    import csv
    import os

    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    root = str(root)
    os.makedirs(os.path.join(root, "dataset"), exist_ok=True)
    for split, rows in FAKE_AUDIOCAPS_ROWS.items():
        path = os.path.join(root, "dataset", f"{split}.csv")
        with open(path, "w", encoding="utf-8", newline="") as fout:
            writer = csv.writer(fout)
            writer.writerow(
                ["audiocap_id", "youtube_id", "start_time", "caption"]
            )
            writer.writerows(rows)
        folder = os.path.join(root, "audio", "test" if split == "test" else "")
        os.makedirs(folder, exist_ok=True)
        ytids = list(dict.fromkeys(row[1] for row in rows))
        for j, ytid in enumerate(ytids):
            if ytid in FAKE_AUDIOCAPS_MISSING:
                continue
            name = f"Y{ytid}.wav" if ytid == "UDGBjjwyaqE" else f"{ytid}.wav"
            wav = 0.05 * rng.standard_normal(int((0.3 + 0.1 * j) * sample_rate))
            sf.write(
                os.path.join(folder, name), wav, sample_rate, subtype="PCM_16"
            )
    return root
