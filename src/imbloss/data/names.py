"""The surnames of the PyTorch char-RNN tutorial: find or download, verify, split, encode.

The data are the 18 ``<Language>.txt`` files under ``data/names/`` in :data:`NAMES_URL`, one
surname a line (20,074 lines, Russian 9,408 ... Vietnamese 73). Every file is checked against
:data:`NAMES_SHA256` before it is read.

Decisions on the quirks of the genuine files (see :func:`split_names`):

- exact duplicate ``(name, language)`` lines (Arabic: 2,000 lines, 108 distinct) are dropped,
  one row per distinct pair is kept: a repeated line adds no information, only weight, and
  would give the class an imbalance the files do not really have;
- a name string listed under several languages keeps every label (the label is ambiguous, an
  error no model can avoid), and all its rows go to the same part, so no string is seen in
  training and then scored in test.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from imbloss.data.base import PreparedData, TensorSplit
from imbloss.data.text import OOV, CharVocab
from imbloss.errors import DataCorruptError, DataNotFoundError, DownloadError

NAMES_URL = "https://download.pytorch.org/tutorial/data.zip"
NAMES_SHA256 = {
    "Arabic": "6f424a8dbe51cbbbabab7a57d38b617210125e4e3991f3c657cb79b8f104bafc",
    "Chinese": "49263ef55a8cb1740e841d65cad8214b2f9b5b869bc534c811746422496fa91e",
    "Czech": "145bbbd6d0816578f03388e92c264d39ef1c60df920b081d371fa5c5cc055a8e",
    "Dutch": "924f32b635170eae561f84538632138fc07d4c8bbd70ba3fb980de1ecc4d2af3",
    "English": "9cca037066d3d5989e24bc01801416162de506b5e28e15b7c092a47905d29bf2",
    "French": "81e65b36c60ed5b89a17422f6edcadbb89546f38ad69e960e64e7ba682012a95",
    "German": "7449cd590b97a733e18d613a4155decd77ec35dc5f8aadd7a82204dce4f051db",
    "Greek": "3555b5186de7f401e6d991b088e9e644ca3099116477818c25ab5793801389e6",
    "Irish": "cf8c7013256252a88d2503127b87282a11f21b2ff6db1bded68834c19a1ec058",
    "Italian": "f88414c27d0606a11a678b4859277828c2565d6cc4d9ee932deef6e94f3b35e4",
    "Japanese": "e0e717e114fec3e7eade4d9dabe0067c475f43147e36a22b47902ee76ad9e67f",
    "Korean": "cd54221ccb362a6cba4c78828838cf3268a0e59744767a37cf6ec4b74036b136",
    "Polish": "45bab898af2f60ed3a728bbf6980e28821011a7caa53227553b5785903a40826",
    "Portuguese": "50a8735f41f4f73757c8ce5b16cb0275cd86b2b214bcbc8c9805f508cb131c53",
    "Russian": "43b3e64ce351f77f1ac9e0cdf7566012d127f4371875fd25208845b5c9d6f7c3",
    "Scottish": "78d0252711d87d948ea86fe34826c51d2d794a8e52d15b5d6f7b6244d45d62dd",
    "Spanish": "1bcb462ed3316756a85781d68232bddae04498fdddd5d9219c53fd1fbdeba7a7",
    "Vietnamese": "f3f9e4164ab47601178a6e45b216464a64122f49d05541f24bf18a757253281d",
}
LANGUAGES = tuple(sorted(NAMES_SHA256))
SPLITS = ("train", "val", "test")
ENV_VAR = "IMBLOSS_NAMES_DIR"
_ZIP_FOLDER = "data/names/"
_FILES = f"the 18 <Language>.txt files of {_ZIP_FOLDER} in {NAMES_URL}"
_SET_ENV = f"set {ENV_VAR} to a folder holding {_FILES}"


# --- finding, downloading and verifying the files -------------------------------------------


def load_names(root: str | os.PathLike | None = None, *, download: bool = True) -> pd.DataFrame:
    """All lines of the 18 files as a DataFrame with columns ``name`` and ``language``.

    One row per line, in file order (languages sorted), duplicates kept; only trailing
    whitespace is stripped. The folder is the first one *given* of: ``root``, then
    ``$IMBLOSS_NAMES_DIR``, then the cache ``$XDG_CACHE_HOME/imbloss/names`` (default
    ``~/.cache/imbloss/names``). A given folder that does not exist is an error, not skipped.
    Only the cache is ever downloaded into, and only when it is absent or empty and
    ``download=True``. Every failure is an :class:`~imbloss.errors.DataError` whose message
    says what to do (the folder to pass, the variable to set, the folder to delete).
    """
    folder, where, fix = _find_folder(root, download)
    raw = _read_folder(folder, where, fix)
    rows = [(line.rstrip(), language) for language in LANGUAGES for line in _lines(raw[language])]
    return pd.DataFrame(rows, columns=["name", "language"])


def _lines(data: bytes) -> list[str]:
    lines = data.decode("utf-8").split("\n")
    if lines[-1] == "":  # the newline that ends the last line starts no new one
        lines.pop()
    return lines


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "imbloss" / "names"


def _find_folder(root: str | os.PathLike | None, download: bool) -> tuple[Path, str, str]:
    """The folder to read, how to name it in a message, and what to do if it is not right."""
    if root is not None:
        return _given_folder(root, "root", f"pass root= a folder holding {_FILES}")
    cache = _cache_dir()
    if os.environ.get(ENV_VAR):
        fix = f"{_SET_ENV}, or unset it to download them into {cache}"
        return _given_folder(os.environ[ENV_VAR], f"${ENV_VAR}", fix)
    where, fix = f"the cache {cache}", f"delete the folder {cache} to download again, or {_SET_ENV}"
    if cache.is_dir() and any(cache.iterdir()):
        return cache, where, fix
    if not download:
        raise DataNotFoundError(
            f"the names data is not in the cache {cache} and download=False; "
            f"{_SET_ENV}, or allow download=True"
        )
    if cache.is_dir():  # an empty cache folder is filled again
        cache.rmdir()
    _download(cache)
    return cache, where, fix


def _given_folder(path: str | os.PathLike, source: str, fix: str) -> tuple[Path, str, str]:
    folder = Path(path).expanduser()
    where = f"{source}={str(path)!r}"
    if not folder.is_dir():
        raise DataNotFoundError(f"{where} is not a folder; {fix}")
    return folder, where, fix


def _read_folder(folder: Path, where: str, fix: str) -> dict[str, bytes]:
    files = {language: folder / f"{language}.txt" for language in LANGUAGES}
    missing = [language for language, path in files.items() if not path.is_file()]
    _check_complete(missing, where, fix)
    raw = {language: path.read_bytes() for language, path in files.items()}
    _verify(raw, where, fix)
    return raw


def _check_complete(missing: list[str], where: str, fix: str) -> None:
    if len(missing) == len(LANGUAGES):
        raise DataNotFoundError(
            f"{where} holds none of the {len(LANGUAGES)} names files "
            f"({LANGUAGES[0]}.txt ... {LANGUAGES[-1]}.txt); {fix}"
        )
    if missing:
        listed = ", ".join(f"{language}.txt" for language in missing)
        raise DataNotFoundError(
            f"{len(missing)} of the {len(LANGUAGES)} names files are missing from {where}: "
            f"{listed}; {fix}"
        )


def _verify(raw: dict[str, bytes], where: str, fix: str) -> None:
    """Raise DataCorruptError naming every file whose SHA-256 is not the one in NAMES_SHA256."""
    bad = []
    for language, data in raw.items():
        actual = hashlib.sha256(data).hexdigest()
        if actual != NAMES_SHA256[language]:
            bad.append(f"{language}.txt: expected SHA-256 {NAMES_SHA256[language]}, got {actual}")
    if bad:
        raise DataCorruptError(
            f"checksum mismatch in {where} for {len(bad)} file(s); these are not the genuine "
            f"tutorial files ({fix}):\n  " + "\n  ".join(bad)
        )


def _fetch(url: str, dest: Path) -> None:
    """Copy ``url`` to the file ``dest``."""
    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
        shutil.copyfileobj(response, out)


def _download(cache: Path) -> None:
    """Download the zip, check its names files and install them as ``cache``, or leave nothing.

    The zip goes to a temporary file renamed ``data.zip`` once complete; the checked files are
    written to a temporary folder renamed ``cache`` once complete. Whatever happens, the zip
    and the temporary files are removed, so the cache is either absent or whole.
    """
    url = NAMES_URL
    cache.parent.mkdir(parents=True, exist_ok=True)
    handle, part_name = tempfile.mkstemp(dir=cache.parent, prefix="data.zip.", suffix=".part")
    os.close(handle)
    part, archive, staging = Path(part_name), cache.parent / "data.zip", None
    try:
        try:
            _fetch(url, part)
        except Exception as err:
            raise DownloadError(
                f"could not download the names data from {url} ({err}); if this "
                f"machine is offline, {_SET_ENV}"
            ) from err
        os.replace(part, archive)
        raw = _read_zip(archive, f"{_ZIP_FOLDER} of the download from {url}")
        staging = Path(tempfile.mkdtemp(dir=cache.parent, prefix="names.", suffix=".part"))
        for language, data in raw.items():
            (staging / f"{language}.txt").write_bytes(data)
        os.replace(staging, cache)
    finally:
        part.unlink(missing_ok=True)
        archive.unlink(missing_ok=True)
        if staging is not None and staging.exists():
            shutil.rmtree(staging)


def _read_zip(archive: Path, where: str) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = set(zipped.namelist())
            paths = {language: f"{_ZIP_FOLDER}{language}.txt" for language in LANGUAGES}
            missing = [lang for lang, path in paths.items() if path not in members]
            _check_complete(missing, where, _SET_ENV)
            raw = {language: zipped.read(path) for language, path in paths.items()}
    except zipfile.BadZipFile as err:
        raise DownloadError(f"{where} is not a readable zip file ({err}); {_SET_ENV}") from err
    _verify(raw, where, _SET_ENV)
    return raw


# --- splitting ---------------------------------------------------------------------------------


class SplitReport(dict):
    """What :func:`split_names` dropped, kept and put where; ``print`` it for a table."""

    def __str__(self) -> str:
        cross = self["cross_language_names"]
        examples = "; ".join(
            f"{name} ({'/'.join(langs)})" for name, langs in cross["examples"].items()
        )
        table = pd.DataFrame(self["rows_per_split"])
        table.insert(0, "dropped", pd.Series(self["duplicates_dropped"]))
        table.insert(0, "lines", table["dropped"] + table[list(SPLITS)].sum(axis=1))
        table.loc["total"] = table.sum()
        return (
            f"{self['rows_in']} lines in; {sum(self['duplicates_dropped'].values())} exact "
            f"duplicate (name, language) lines dropped; {self['rows_out']} rows kept "
            f"(seed={self['seed']}, fractions={tuple(self['fractions'])})\n"
            f"{cross['count']} name strings carry several languages ({cross['rows']} rows), "
            f"kept with every label, each string in one part only; e.g. {examples}\n"
            f"{table.to_string()}"
        )


def split_names(
    df: pd.DataFrame, seed: int = 0, fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)
) -> pd.DataFrame:
    """Drop duplicate lines and add a ``split`` column (train / val / test), grouped and stratified.

    1. Exact duplicate ``(name, language)`` rows are dropped (the first is kept).
    2. Every distinct name string is one group: all its rows go to the same part, so no string
       is in two parts. A string under several languages keeps all its rows (labels).
    3. Stratification: each string is filed under its rarest language (fewest distinct names),
       so the small languages get their exact share; within each language the strings are
       shuffled (seeded; the strings are sorted first, so row order does not matter) and cut
       into ``round(n * f_val)`` for val and ``round(n * f_test)`` for test (each at least 1),
       the rest for train. Every language therefore has at least one name in every part.

    The report (:class:`SplitReport`) is in ``result.attrs["split_report"]``: ``rows_in``,
    ``rows_out``, ``duplicates_dropped`` per language, ``cross_language_names`` (count, rows,
    examples) and ``rows_per_split`` per language.
    """
    missing = {"name", "language"} - set(df.columns)
    if missing:
        raise ValueError(f"df needs columns 'name' and 'language'; missing {sorted(missing)}")
    fractions = _check_fractions(fractions)
    kept = df.drop_duplicates(["name", "language"]).reset_index(drop=True)
    languages = sorted(kept["language"].unique())

    size = kept["language"].map(kept["language"].value_counts())
    rarest = (
        kept.assign(size=size).sort_values(["size", "language", "name"]).drop_duplicates("name")
    )
    rng = np.random.default_rng(seed)
    part_of: dict[str, str] = {}
    for language in languages:
        names = rng.permutation(
            np.sort(rarest.loc[rarest["language"] == language, "name"].to_numpy(dtype=object))
        )
        n_val, n_test = (max(1, round(len(names) * f)) for f in fractions[1:])
        if len(names) - n_val - n_test < 1:
            raise ValueError(
                f"language {language!r} is the rarest label of only {len(names)} distinct name "
                "strings; need at least 3 to put one in each of train, val and test"
            )
        part_of.update(dict.fromkeys(names[:n_val], "val"))
        part_of.update(dict.fromkeys(names[n_val : n_val + n_test], "test"))
        part_of.update(dict.fromkeys(names[n_val + n_test :], "train"))
    kept["split"] = kept["name"].map(part_of)
    kept.attrs["split_report"] = _report(df, kept, languages, seed, fractions)
    return kept


def _check_fractions(fractions: tuple[float, float, float]) -> tuple[float, float, float]:
    values = tuple(float(f) for f in fractions)
    if len(values) != 3 or min(values) <= 0 or abs(sum(values) - 1) > 1e-9:
        raise ValueError(
            f"fractions={fractions!r} is not valid; expected three positive numbers "
            "(train, val, test) that sum to 1"
        )
    return values


def _report(
    df: pd.DataFrame,
    kept: pd.DataFrame,
    languages: list[str],
    seed: int,
    fractions: tuple[float, float, float],
) -> SplitReport:
    dropped = df["language"].value_counts().sub(kept["language"].value_counts(), fill_value=0)
    labels = kept.groupby("name")["language"].agg(sorted)
    cross = labels[labels.map(len) > 1]
    counts = pd.crosstab(kept["language"], kept["split"]).reindex(
        index=languages, columns=list(SPLITS), fill_value=0
    )
    return SplitReport(
        rows_in=len(df),
        rows_out=len(kept),
        seed=seed,
        fractions=list(fractions),
        duplicates_dropped={lang: int(dropped[lang]) for lang in languages},
        cross_language_names={
            "count": len(cross),
            "rows": int(cross.map(len).sum()),
            "examples": {name: list(langs) for name, langs in cross.head(5).items()},
        },
        rows_per_split={
            split: {lang: int(counts.loc[lang, split]) for lang in languages} for split in SPLITS
        },
    )


# --- tensors for the trainer ---------------------------------------------------------------------


def prepare_names(
    seed: int = 0,
    *,
    ascii_fold: bool = False,
    root: str | os.PathLike | None = None,
    download: bool = True,
) -> PreparedData:
    """Load, split (:func:`split_names`), build the vocabulary on train, and encode every part.

    Classes are :data:`LANGUAGES` in that order. ``x`` holds character indices padded with 0
    (``OOV=1`` for characters not seen in training); ``ascii_fold`` folds accents first.
    """
    df = split_names(load_names(root, download=download), seed=seed)
    report = df.attrs["split_report"]
    vocab = CharVocab.build(df.loc[df["split"] == "train", "name"], ascii_fold=ascii_fold)
    class_index = {language: i for i, language in enumerate(LANGUAGES)}

    def part(split: str) -> TensorSplit:
        rows = df[df["split"] == split]
        x, lengths = vocab.encode_batch(rows["name"].tolist())
        y = torch.tensor(rows["language"].map(class_index).to_numpy(), dtype=torch.int64)
        return TensorSplit(x=x, y=y, lengths=lengths)

    parts = {split: part(split) for split in SPLITS}
    return PreparedData(
        **parts,
        class_names=list(LANGUAGES),
        kind="sequence",
        input_size=len(vocab),
        info={
            "split_report": report,
            "vocab": vocab,
            "vocab_size": len(vocab),
            "ascii_fold": ascii_fold,
            "seed": seed,
            "duplicates_dropped": sum(report["duplicates_dropped"].values()),
            "cross_language_names": report["cross_language_names"]["count"],
            "language_counts": report["rows_per_split"],
            "oov_chars": {split: int((p.x == OOV).sum()) for split, p in parts.items()},
        },
    )
