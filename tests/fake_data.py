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


# Your own data (recipes/Descriptions): (id, phonation, gender, tags,
# descriptions, seconds) of the training items; "Someone whispering." is
# shared by several recordings.
FAKE_DESCRIPTION_ITEMS = [
    ("w01", "whispered", "female", ["soft"], ["Someone whispering."], 0.8),
    (
        "w02",
        "whispered",
        "male",
        ["soft", "slow"],
        ["Someone whispering.", "A man whispering slowly."],
        1.0,
    ),
    (
        "w03",
        "whispered",
        "female",
        ["soft"],
        ["A woman whispering, very softly."],
        0.7,
    ),
    (
        "w04",
        "whispered",
        "male",
        ["soft"],
        ["Someone whispering.", "A hushed male voice."],
        0.9,
    ),
    (
        "w05",
        "whispered",
        "female",
        ["soft", "slow"],
        ["A slow, breathy whisper.", "Someone whispering."],
        1.2,
    ),
    (
        "w06",
        "whispered",
        "male",
        ["soft"],
        ["A man speaking under his breath."],
        0.6,
    ),
    (
        "m01",
        "modal",
        "female",
        ["loud"],
        ["A woman speaking out loud.", "A clear female voice."],
        0.8,
    ),
    (
        "m02",
        "modal",
        "male",
        ["loud", "slow"],
        ["A man talking slowly in a deep voice."],
        1.1,
    ),
    ("m03", "modal", "female", ["loud"], ["A clear female voice."], 0.9),
    (
        "m04",
        "modal",
        "male",
        ["loud"],
        ["Someone speaking in a normal voice."],
        0.7,
    ),
    (
        "m05",
        "modal",
        "female",
        ["loud", "slow"],
        ["A woman reading slowly, out loud."],
        1.0,
    ),
    (
        "m06",
        "modal",
        "male",
        ["loud"],
        ["A man speaking out loud.", "A deep male voice."],
        3.0,
    ),
]
# test.csv rows: (ID, phonation, gender, descriptions, start, stop, seconds)
FAKE_DESCRIPTION_TEST = [
    (
        "t01",
        "whispered",
        "female",
        "Someone whispering.|A woman whispering, softly.",
        "",
        "",
        0.9,
    ),
    (
        "t02",
        "modal",
        "male",
        "A man speaking out loud.|A calm man, talking in a café.",
        "",
        "",
        1.0,
    ),
    ("t03", "whispered", "male", "A man whispering.", "0.5", "1.5", 2.0),
    ("t04", "modal", "female", "A clear female voice.", "", "", 2.6),
    ("t05", "modal", "female", "A woman speaking out loud.", "", "", 0.8),
]
FAKE_DESCRIPTION_MISSING = "t05"


def _fake_voice(phonation, gender, seconds, sample_rate, rng):
    """A voiced harmonic tone (modal) or band noise (whispered)."""
    import numpy as np

    t = np.arange(int(seconds * sample_rate)) / sample_rate
    if phonation == "whispered":
        wav = rng.standard_normal(t.size) * 0.1
        wav = np.convolve(wav, np.ones(4) / 4, mode="same")
    else:
        f0 = 120.0 if gender == "male" else 220.0
        wav = sum(0.2 / h * np.sin(2 * np.pi * h * f0 * t) for h in (1, 2, 3))
        wav = wav + 0.005 * rng.standard_normal(t.size)
    return wav.astype("float32")


def make_fake_descriptions(root, sample_rate=16000, seed=0):
    """Builds a folder of your own data in the documented manifest formats.

    ``clips/<id>.wav`` (16 kHz; whispered items are noise, modal ones a
    harmonic tone, lower for male items), ``train.json`` (SpeechBrain JSON
    with ``{data_root}`` paths, ``descriptions`` lists, ``phonation``,
    ``gender`` and ``tags`` metadata; ``FAKE_DESCRIPTION_ITEMS``) and
    ``test.csv`` (SpeechBrain CSV with ``$data_root`` paths, ``|``-separated
    descriptions, one with a comma and a non-ASCII character, one segment
    with ``start``/``stop``; ``FAKE_DESCRIPTION_TEST``), whose item
    ``FAKE_DESCRIPTION_MISSING`` has no audio. No validation manifest.

    Arguments
    ---------
    root : str or path
        The data folder to create.
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
    import json
    import os

    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    root = str(root)
    os.makedirs(os.path.join(root, "clips"), exist_ok=True)
    train = {}
    for (
        item_id,
        phonation,
        gender,
        tags,
        texts,
        seconds,
    ) in FAKE_DESCRIPTION_ITEMS:
        wav = _fake_voice(phonation, gender, seconds, sample_rate, rng)
        sf.write(
            os.path.join(root, "clips", f"{item_id}.wav"), wav, sample_rate
        )
        train[item_id] = {
            "wav": "{data_root}/clips/" + f"{item_id}.wav",
            "descriptions": texts,
            "phonation": phonation,
            "gender": gender,
            "tags": tags,
        }
    with open(os.path.join(root, "train.json"), "w", encoding="utf-8") as f:
        json.dump(train, f, indent=2)
    with open(
        os.path.join(root, "test.csv"), "w", encoding="utf-8", newline=""
    ) as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "ID",
                "wav",
                "start",
                "stop",
                "descriptions",
                "phonation",
                "gender",
            ]
        )
        for (
            item_id,
            phonation,
            gender,
            texts,
            start,
            stop,
            seconds,
        ) in FAKE_DESCRIPTION_TEST:
            if item_id != FAKE_DESCRIPTION_MISSING:
                wav = _fake_voice(phonation, gender, seconds, sample_rate, rng)
                sf.write(
                    os.path.join(root, "clips", f"{item_id}.wav"),
                    wav,
                    sample_rate,
                )
            writer.writerow(
                [
                    item_id,
                    f"$data_root/clips/{item_id}.wav",
                    start,
                    stop,
                    texts,
                    phonation,
                    gender,
                ]
            )
    return root


# ParaSpeechCaps: annotation rows of the fake splits, as
# (source, relative_audio_path, descriptions, intrinsic, situational,
#  gender, pitch, speaking_rate, make the audio file)
_PSC_VOX1 = "voxceleb1/dev/wav/id10001/1zcIwhmdeo4/00001_voicefixer.wav"
_PSC_VOX2 = "voxceleb2/dev/aac/id00012/21Uxsk56VDQ/00001_voicefixer.wav"
_PSC_EXP = "audio_48khz/read/ex01/happy/base/ex01_happy_00001.wav"
_PSC_EXPC = (
    "audio_48khz/conversational_vad_segmented/ex04-ex01/whisper/"
    "ex04-ex01_whisper_001_channel1_segment_3.wav"
)
_PSC_EMI = "EN/EN_B00030/EN_B00030_S01984/mp3/EN_B00030_S01984_W00003{}.mp3"
FAKE_PSC_ROWS = {
    "train_base": [
        (
            "VoxCeleb",
            _PSC_VOX1,
            ["A man with a husky, deep voice speaks at a measured speed."],
            ["husky", "deep"],
            None,
            "male",
            "low-pitched",
            "measured speed",
            True,
        ),
        (
            "VoxCeleb",
            _PSC_VOX2,
            ["A woman's shrill voice, fast."],
            ["shrill"],
            None,
            "female",
            "high-pitched",
            "fast speed",
            True,
        ),
        (
            "Expresso",
            _PSC_EXP,
            [
                "A happy female speaker.",
                "A female speaker with a bright voice sounds happy.",
            ],
            ["bright"],
            ["happy"],
            "female",
            "high-pitched",
            "measured speed",
            True,
        ),
        (
            "Expresso",
            _PSC_EXPC,
            [
                "Someone whispers slowly.",
                "A male voice whispers slowly in a clean environment.",
            ],
            ["deep"],
            ["whispered"],
            "male",
            "low-pitched",
            "slow speed",
            True,
        ),
        (
            "EARS",
            "p001/emo_adoration_sentences.wav",
            ["An admiring male speaker, slow."],
            None,
            ["admiring"],
            "male",
            "medium-pitched",
            "slow speed",
            True,
        ),
        (
            "Emilia",
            _PSC_EMI.format(7),
            [
                "A guttural male voice.",
                "A guttural male voice sounds angry, fast.",
            ],
            ["guttural"],
            ["angry"],
            "male",
            "low-pitched",
            "fast speed",
            True,
        ),
        (
            "Emilia",
            _PSC_EMI.format(8),
            ["A nasal female voice."],
            ["nasal"],
            None,
            "female",
            "medium-pitched",
            "measured speed",
            True,
        ),
        (
            "EARS",
            "p002/emo_anger_sentences.wav",
            ["An angry speaker."],
            None,
            ["angry"],
            "female",
            "high-pitched",
            "fast speed",
            False,
        ),
        (
            "Expresso",
            "audio_48khz/read/ex02/sad/base/ex02_sad_00002.wav",
            [],
            None,
            ["sad"],
            "male",
            "low-pitched",
            "slow speed",
            True,
        ),
    ],
    "train_scaled": [
        (
            "Emilia",
            _PSC_EMI.format(9),
            ["A husky male voice speaks fast."],
            ["husky"],
            None,
            "male",
            "low-pitched",
            "fast speed",
            True,
        ),
    ],
    "dev": [
        (
            "Expresso",
            "audio_48khz/read/ex02/sad/base/ex02_sad_00010.wav",
            ["A sad male speaker, slow."],
            None,
            ["sad"],
            "male",
            "low-pitched",
            "slow speed",
            True,
        ),
        (
            "VoxCeleb",
            "voxceleb1/test/wav/id10270/5r0dWxy17C8/00001_voicefixer.wav",
            ["A deep male voice."],
            ["deep"],
            None,
            "male",
            "low-pitched",
            "measured speed",
            True,
        ),
    ],
    "holdout": [
        (
            "EARS",
            "p003/emo_amusement_freeform.wav",
            [
                "An amused woman laughing while she speaks.",
                "A bright female voice, amused.",
            ],
            ["bright"],
            ["amused"],
            "female",
            "high-pitched",
            "measured speed",
            True,
        ),
        (
            "Expresso",
            "audio_48khz/read/ex03/whisper/base/ex03_whisper_00004.wav",
            ["Someone whispering."],
            None,
            ["whispered"],
            "female",
            "medium-pitched",
            "slow speed",
            True,
        ),
        (
            "VoxCeleb",
            "voxceleb2/test/aac/id00017/01dfn2spqyE/00001_voicefixer.wav",
            ["A husky, guttural man.", "A man with a husky voice."],
            ["husky", "guttural"],
            None,
            "male",
            "low-pitched",
            "fast speed",
            True,
        ),
    ],
}
FAKE_PSC_SHARDS = {"train_base": 1, "train_scaled": 1, "dev": 1, "holdout": 1}


def make_fake_paraspeechcaps(root, seed=0):
    """Builds fake ParaSpeechCaps annotations and the four audio roots.

    ``annotations/data/<split>-00000-of-00001.parquet`` (the layout of the
    Hugging Face dataset ``ajd12342/paraspeechcaps``, every column of its
    schema) with ``FAKE_PSC_ROWS``, and ``voxceleb/``, ``expresso/``,
    ``ears/``, ``emilia/`` audio roots holding the rows' files at their
    ``relative_audio_path`` (16 kHz wavs; 48 kHz for Expresso; mp3 for
    Emilia), except for rows marked without audio. The j-th file lasts
    0.3 + 0.05 j s. A train_base row has no description.

    Arguments
    ---------
    root : str or path
        Folder to create.
    seed : int
        Seed of the noise.

    Returns
    -------
    str
        ``root``: annotations in ``root/annotations``, audio roots in
        ``root/{voxceleb,expresso,ears,emilia}`` (``paraspeechcaps_roots``).
    """
    import os

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import soundfile as sf

    rng = np.random.default_rng(seed)
    root = str(root)
    roots = {
        f"{s}_root": os.path.join(root, s)
        for s in ("voxceleb", "expresso", "ears", "emilia")
    }
    for folder in roots.values():
        os.makedirs(folder, exist_ok=True)
    data_dir = os.path.join(root, "annotations", "data")
    os.makedirs(data_dir, exist_ok=True)
    j = 0
    for split, rows in FAKE_PSC_ROWS.items():
        records = []
        for (
            source,
            relative,
            texts,
            intrinsic,
            situational,
            gender,
            pitch,
            rate,
            has_audio,
        ) in rows:
            seconds = 0.3 + 0.05 * j
            j += 1
            rate_hz = 48000 if source == "Expresso" else 16000
            if has_audio:
                path = os.path.join(roots[f"{source.lower()}_root"], relative)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                wav = (
                    0.1 * rng.standard_normal(int(seconds * rate_hz))
                ).astype("float32")
                fmt = "MP3" if relative.endswith(".mp3") else "WAV"
                sf.write(path, wav, rate_hz, format=fmt)
            tags = (intrinsic or []) + (situational or [])
            basic = [pitch, rate, f"{gender}"]
            records.append(
                {
                    "source": source,
                    "relative_audio_path": relative,
                    "text_description": texts,
                    "transcription": "a fake transcript",
                    "intrinsic_tags": intrinsic,
                    "situational_tags": situational,
                    "basic_tags": basic,
                    "all_tags": tags + basic,
                    "speakerid": relative.split("/")[-2],
                    "name": relative.split("/")[-2],
                    "duration": round(seconds, 3),
                    "gender": gender,
                    "accent": "American" if source == "VoxCeleb" else None,
                    "pitch": pitch,
                    "speaking_rate": rate,
                    "noise": "clean environment",
                    "utterance_pitch_mean": 150.0,
                    "snr": 40.0,
                    "phonemes": "ə fˈeɪk",
                }
            )
        shards = FAKE_PSC_SHARDS[split]
        table = pa.Table.from_pylist(records)
        pq.write_table(
            table,
            os.path.join(data_dir, f"{split}-00000-of-{shards:05d}.parquet"),
        )
    return root


def paraspeechcaps_roots(root):
    """``{"voxceleb_root": ..., ...}`` of a fake ParaSpeechCaps tree."""
    import os

    return {
        f"{s}_root": os.path.join(str(root), s)
        for s in ("voxceleb", "expresso", "ears", "emilia")
    }


# TextrolSpeech: audio files below the audio root and the csv rows
# (item_name, dur, pitch, energy, gender, emotion, spk, txt, style_prompt)
FAKE_TEXTROL_FILES = (
    "Emotional Speech Dataset (ESD)/Emotion Speech Dataset/0020/Happy/"
    "0020_000746.wav",
    "CREMA-D/AudioWAV/1060_IWL_FEA_XX.wav",
    "CREMA-D/AudioWAV/1085_IEO_ANG_HI.wav",
    "MEAD/M026/audio/surprised/level_1/013.wav",
    "TESS/TESS Toronto emotional speech set data/YAF_pleasant_surprised/"
    "YAF_germ_ps.wav",
    "RAVDESS/Actor_01/03-01-04-01-01-01-01.wav",
    "MESS compressed/CM3T07_SCR.wav",
    "SAVEE/ALL/DC_d08.wav",
    "LibriTTS/train-clean-100/6904/262291/6904_262291_000067_000000.wav",
    "LibriTTS/train-clean-100/19/198/19_198_000000_000000.wav",
    "LibriTTS/train-other-500/19/198/19_198_000000_000000.wav",
    "MEAD/W018/audio/angry/level_2/025.wav",
    "CREMA-D/AudioWAV/1020_MTI_SAD_XX.wav",
    "LibriTTS/test-clean/1089/134686/1089_134686_000001_000001.wav",
)
FAKE_TEXTROL_TRAIN = [
    (
        "Emotional Speech Dataset (ESD)-Emotion Speech Dataset-0020-Happy-"
        "0020_000746",
        "low",
        "normal",
        "low",
        "M",
        "happy",
        "ESD-0020",
        "They'd never know.",
        "A delighted speaker's low-energy demeanor, slow-paced speech.",
    ),
    (
        "CREMA-D-AudioWAV-1060_IWL_FEA_XX",
        "low",
        "low",
        "low",
        "F",
        "fear",
        "CREMA-D-1060",
        "I would like a new alarm clock",
        "With a hushed tone and slow speech, speaker fearfully speaks.",
    ),
    (
        "CREMA-D-AudioWAV-1085_IEO_ANG_HI",
        "normal",
        "high",
        "high",
        "M",
        "angry",
        "CREMA-D-1085",
        "It's eleven o'clock",
        "The enraged speaker's energetic speech has a high pitch.",
    ),
    (
        "MEAD-M026-audio-surprised-level_1-013",
        "low",
        "normal",
        "low",
        "M",
        "surprised",
        "MEAD-M026",
        "The clumsy customer spilled some expensive perfume",
        "A astonished speaker with a usual pitch speaks slowly.",
    ),
    (
        "TESS-TESS Toronto emotional speech set data-YAF_pleasant_surprised-"
        "YAF_germ_ps",
        "low",
        "high",
        "low",
        "F",
        "surprised",
        "TESS-YAF",
        "say the word germ",
        "The surprised speaker talks at a leisurely pace, high pitch.",
    ),
    (
        "RAVDESS-Actor_01-03-01-04-01-01-01-01",
        "low",
        "normal",
        "low",
        "M",
        "sad",
        "RAVDESS-01",
        "Kids are talking by the door",
        "A sad speaker with a standard tone engages in unhurried speech.",
    ),
    (
        "MESS compressed-CM3T07_SCR",
        "high",
        "low",
        "normal",
        "M",
        "neutral",
        "MESS-M3",
        "Theo discussed the prayer",
        "Expressing normal energy, the speech is rapid with a deep pitch."
        "Speaking rapidly, speaker embodies a sense of usual vitality.",
    ),
    (
        "SAVEE-ALL-DC_d08",
        "low",
        "normal",
        "normal",
        "M",
        "disgusted",
        "SAVEE-DC",
        "Barb burned paper and leaves.",
        "The speaker, a nauseated speaker, engages in slow-speed speech.",
    ),
    (
        "6904_262291_000067_000000",
        "normal",
        "high",
        "normal",
        "F",
        "neutral",
        "6904",
        "He went home.",
        "A woman with a high pitch speaks at a normal pace.",
    ),
    (
        "19_198_000000_000000",
        "normal",
        "low",
        "low",
        "F",
        "neutral",
        "19",
        "Chapter one.",
        "A woman speaks with a low pitch and low energy.",
    ),
]
FAKE_TEXTROL_TEST = [
    (
        "MEAD-W018-audio-angry-level_2-025",
        "low",
        "high",
        "low",
        "F",
        "angry",
        "MEAD-W018",
        "His superiors had also preached this",
        "Whispering gently, speaker furiously spoke slowly, with a high pitch.",
    ),
    (
        "CREMA-D-AudioWAV-1020_MTI_SAD_XX",
        "low",
        "normal",
        "low",
        "F",
        "sad",
        "CREMA-D-1020",
        "Maybe tomorrow it will be cold",
        "Speaking in a hushed voice, speaker mournfully communicated slowly.",
    ),
    (
        "1089_134686_000001_000001",
        "fast",
        "normal",
        "high",
        "M",
        "neutral",
        "1089",
        "Stuff it into you.",
        "A man speaks quickly and loudly with a normal pitch.",
    ),
    (
        "CREMA-D-AudioWAV-1070_IEO_SAD_LO",
        "low",
        "normal",
        "low",
        "M",
        "sad",
        "CREMA-D-1070",
        "It's eleven o'clock",
        "With low energy, the speaker delivers a sad message.",
    ),
]


def make_fake_textrolspeech(root, sample_rate=16000, seed=0):
    """Builds a fake TextrolSpeech audio root with its annotation csvs.

    The files of ``FAKE_TEXTROL_FILES`` (item names written from their
    paths, the corpora's own folder and file names; 16 kHz, 24 kHz for
    LibriTTS; the j-th lasts 0.3 + 0.05 j s) and ``controlspeech_train.csv``
    / ``controlspeech_test.csv`` (ControlSpeech's VccmDataset columns
    ``item_name,dur,pitch,energy,gender,emotion,spk,txt,style_prompt``)
    with ``FAKE_TEXTROL_TRAIN`` / ``FAKE_TEXTROL_TEST``. One training item
    (``19_198_000000_000000``) exists in two LibriTTS subsets (ambiguous),
    one style prompt holds two glued sentences, and the last test row
    (CREMA-D 1070) has no audio.

    Arguments
    ---------
    root : str or path
        The audio root to create.
    sample_rate : int
        Sample rate of the emotional corpora's files.
    seed : int
        Seed of the noise.

    Returns
    -------
    str
        The audio root.
    """
    import csv
    import os

    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    root = str(root)
    for j, rel in enumerate(FAKE_TEXTROL_FILES):
        path = os.path.join(root, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        rate = 24000 if rel.startswith("LibriTTS") else sample_rate
        wav = 0.1 * rng.standard_normal(int((0.3 + 0.05 * j) * rate))
        sf.write(path, wav, rate, subtype="PCM_16")
    header = [
        "item_name",
        "dur",
        "pitch",
        "energy",
        "gender",
        "emotion",
        "spk",
        "txt",
        "style_prompt",
    ]
    for name, rows in (
        ("controlspeech_train.csv", FAKE_TEXTROL_TRAIN),
        ("controlspeech_test.csv", FAKE_TEXTROL_TEST),
    ):
        with open(
            os.path.join(root, name), "w", encoding="utf-8", newline=""
        ) as fout:
            writer = csv.writer(fout)
            writer.writerow(header)
            writer.writerows(rows)
    return root


# LibriTTS-P over LibriTTS-R: (subset, spk, chapter, utt suffix, gender,
# pitch, speed, energy, invalid; None: no metadata row)
FAKE_LIBRITTS_P_UTTS = [
    (
        "train-clean-100",
        "19",
        "198",
        "000000_000000",
        ("F", "high", "slow", "low", 0),
    ),
    (
        "train-clean-100",
        "19",
        "198",
        "000000_000001",
        ("F", "high", "normal", "low", 0),
    ),
    (
        "train-clean-100",
        "26",
        "495",
        "000004_000000",
        ("M", "low", "fast", "high", 0),
    ),
    ("train-clean-100", "26", "495", "000005_000000", None),
    (
        "train-clean-100",
        "26",
        "495",
        "000006_000000",
        ("M", "low", "slow", "normal", 0),
    ),
    (
        "train-clean-100",
        "40",
        "222",
        "000001_000000",
        ("F", "normal", "normal", "normal", 0),
    ),
    (
        "train-clean-360",
        "100",
        "121669",
        "000001_000000",
        ("M", "normal", "fast", "normal", 0),
    ),
    (
        "train-clean-360",
        "100",
        "121669",
        "000002_000000",
        ("M", "normal", "fast", "normal", 1),
    ),
    (
        "dev-clean",
        "84",
        "121123",
        "000008_000000",
        ("F", "high", "normal", "high", 0),
    ),
    (
        "dev-clean",
        "84",
        "121123",
        "000009_000000",
        ("F", "low", "slow", "low", 0),
    ),
    (
        "test-clean",
        "1089",
        "134686",
        "000001_000001",
        ("M", "low", "normal", "normal", 0),
    ),
    (
        "test-clean",
        "121",
        "121726",
        "000004_000000",
        ("F", "high", "fast", "high", 0),
    ),
]
FAKE_LIBRITTS_P_SPEAKER_TAGS = {
    "19": [
        "feminine,slightly young,clear",
        "very feminine,young,bright",
        "feminine,clear,calm",
    ],
    "26": [
        "masculine,thick,slightly powerful",
        "very masculine,powerful",
        "masculine,calm",
    ],
    "100": [
        "masculine,middle-aged,calm",
        "masculine,slightly calm,dark",
        "slightly masculine,dark",
    ],
    "84": [
        "feminine,bright,lively",
        "feminine,slightly bright",
        "very feminine,lively,clear",
    ],
    "1089": [
        "masculine,calm,dark",
        "masculine,slightly dark",
        "masculine,mature",
    ],
    "40": ["feminine,soft", "gender-neutral,soft", "feminine"],
}
FAKE_LIBRITTS_P_EXCLUDED = ("40",)
FAKE_LIBRITTS_P_UNANNOTATED = ("121",)
_LIBRITTS_P_WORDS = {
    "pitch": {
        "low": "a low pitch",
        "normal": "a normal pitch",
        "high": "a high pitch",
    },
    "speed": {
        "slow": "slowly",
        "normal": "at a normal speed",
        "fast": "quickly",
    },
    "energy": {
        "low": "softly",
        "normal": "at a normal volume",
        "high": "loudly",
    },
}


def _fake_style_prompts(key):
    """Six fake prompt candidates of a LibriTTS-P style key."""
    gender, pitch, speed, energy = key.split("_")
    who = "man" if gender == "M" else "woman"
    pitch = _LIBRITTS_P_WORDS["pitch"][pitch[2:]]
    speed = _LIBRITTS_P_WORDS["speed"][speed[2:]]
    energy = _LIBRITTS_P_WORDS["energy"][energy[2:]]
    return [
        f"A {who} with {pitch} speaks {speed} and {energy}",
        f"Ask a {who} to speak {speed} with {pitch}, {energy}",
        f"A {who} speaks {energy} and {speed}, with {pitch}",
        f"This {who} talks {speed} with {pitch}",
        f"Tell a {who} to speak {energy} with {pitch}",
        f"The {who}'s voice has {pitch}, speaking {speed}",
    ]


def make_fake_libritts_p(root, sample_rate=24000, seed=0):
    """Builds a fake LibriTTS-R tree and the LibriTTS-P annotations.

    ``LibriTTS_R/{subset}/{spk}/{chapter}/{utt}.wav`` (+ ``.normalized.txt``
    and ``.original.txt``) for ``FAKE_LIBRITTS_P_UTTS`` (24 kHz; the j-th
    lasts 0.3 + 0.05 j s), and ``LibriTTS-P/data/`` as in
    github.com/line/LibriTTS-P: ``metadata_w_style_prompt_tags_v230922.csv``
    (one row per utterance, but not for ``26_495_000005_000000``; one row
    marked invalid), ``style_prompt_candidates_v230922.csv``
    (``key|p1;p2;...``), ``df{1,2,3}_en.csv`` (``spk|tag,tag``;
    ``FAKE_LIBRITTS_P_SPEAKER_TAGS``), ``excluded_spk_list.txt`` (speaker
    40) and ``unannotated_spk_list.txt`` (speaker 121, absent from the df
    files).

    Arguments
    ---------
    root : str or path
        Folder to create.
    sample_rate : int
        Sample rate of the wavs.
    seed : int
        Seed of the noise.

    Returns
    -------
    str
        ``root``, holding ``LibriTTS_R/`` and ``LibriTTS-P/``.
    """
    import csv
    import os

    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    root = str(root)
    audio = os.path.join(root, "LibriTTS_R")
    data = os.path.join(root, "LibriTTS-P", "data")
    os.makedirs(data, exist_ok=True)
    rows, keys = [], set()
    for j, (subset, spk, chapter, suffix, meta) in enumerate(
        FAKE_LIBRITTS_P_UTTS
    ):
        utt = f"{spk}_{chapter}_{suffix}"
        folder = os.path.join(audio, subset, spk, chapter)
        os.makedirs(folder, exist_ok=True)
        wav = 0.1 * rng.standard_normal(int((0.3 + 0.05 * j) * sample_rate))
        sf.write(os.path.join(folder, f"{utt}.wav"), wav, sample_rate)
        for ext, text in (
            (".normalized.txt", "Chapter one."),
            (".original.txt", "CHAPTER I."),
        ):
            with open(
                os.path.join(folder, utt + ext), "w", encoding="utf-8"
            ) as f:
                f.write(text)
        if meta is None:
            continue
        gender, pitch, speed, energy, invalid = meta
        key = f"{gender}_p-{pitch}_s-{speed}_e-{energy}"
        keys.add(key)
        rows.append(
            [utt, spk, gender, pitch, speed, energy, "Chapter one.", key]
            + ["120.5", "20.1", "4.79", "0.15", "4.2", "-23.5", "-30.1", "8.2"]
            + [str(invalid)]
        )
    with open(
        os.path.join(data, "metadata_w_style_prompt_tags_v230922.csv"),
        "w",
        encoding="utf-8",
        newline="",
    ) as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "item_name",
                "spk_id",
                "gender",
                "pitch",
                "speaking_speed",
                "energy",
                "content_prompt",
                "style_prompt_key",
                "raw_f0_mean",
                "raw_f0_scale",
                "raw_lf0_mean",
                "raw_lf0_scale",
                "raw_speaking_rate",
                "raw_loudness_lufs",
                "raw_loudness_mean",
                "raw_loudness_scale",
                "invalid",
            ]
        )
        writer.writerows(rows)
    with open(
        os.path.join(data, "style_prompt_candidates_v230922.csv"),
        "w",
        encoding="utf-8",
    ) as f:
        for key in sorted(keys):
            f.write(f"{key}|{';'.join(_fake_style_prompts(key))}\n")
    for k in range(3):
        with open(
            os.path.join(data, f"df{k + 1}_en.csv"), "w", encoding="utf-8"
        ) as f:
            for spk, tags in FAKE_LIBRITTS_P_SPEAKER_TAGS.items():
                f.write(f"{spk}|{tags[k]}\n")
    for name, ids in (
        ("excluded_spk_list.txt", FAKE_LIBRITTS_P_EXCLUDED),
        ("unannotated_spk_list.txt", FAKE_LIBRITTS_P_UNANNOTATED),
    ):
        with open(os.path.join(data, name), "w", encoding="utf-8") as f:
            f.write("\n".join(ids) + "\n")
    return root


def make_fake_stylesynth_descriptions(root, num_descriptions=3):
    """A tiny embedded corpus converted to descriptions manifests.

    Synthesises 24 / 8 / 12 utterances with espeak-ng and writes
    ``{train,valid,test}_descriptions.json`` with
    ``recipes/Descriptions/stylesynth_to_descriptions.py`` (not a fake of a
    downloaded corpus: the real pipeline on a small corpus).

    Arguments
    ---------
    root : str or path
        The corpus folder to create.
    num_descriptions : int
        Descriptions per utterance.

    Returns
    -------
    str
        The corpus folder.
    """
    from tests.prepare_utils import load_recipe_module

    convert = load_recipe_module(
        "Descriptions", "stylesynth_to_descriptions.py"
    ).convert_stylesynth
    convert(
        str(root),
        num_descriptions=num_descriptions,
        num_train_utts=24,
        num_valid_utts=8,
        num_test_utts=12,
    )
    return str(root)
