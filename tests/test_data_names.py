"""The names loader (find, download, verify), the grouped stratified split and prepare_names.

Tests on the genuine files take the folder from ``$IMBLOSS_NAMES_DIR`` (set by the Makefile and
CI) and are skipped, with the reason, where it is not set. Download and verification tests use
small fake files with their own sums, served from a local ``file://`` URL: no network.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import torch

from imbloss.data import LANGUAGES, load_names, prepare_names, split_names
from imbloss.data import names as names_module
from imbloss.data.names import NAMES_SHA256, SPLITS
from imbloss.data.text import OOV, PAD
from imbloss.errors import DataCorruptError, DataNotFoundError, DownloadError

# --- the genuine files ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def names_dir() -> Path:
    value = os.environ.get("IMBLOSS_NAMES_DIR")
    if not value or not Path(value).is_dir():
        pytest.skip(
            f"IMBLOSS_NAMES_DIR={value!r} is not a folder: set it to the 18 names files "
            "(the Makefile sets it to ../shared/data/names)"
        )
    return Path(value)


@pytest.fixture(scope="module")
def real_names(names_dir: Path) -> pd.DataFrame:
    return load_names(root=names_dir, download=False)


@pytest.fixture(scope="module")
def real_split(real_names: pd.DataFrame) -> pd.DataFrame:
    return split_names(real_names, seed=0)


@pytest.fixture(scope="module")
def prepared(names_dir: Path):
    return prepare_names(seed=0, root=names_dir, download=False)


def test_sums_in_code_are_those_of_the_shared_sha256sums(names_dir: Path) -> None:
    listed = {}
    for line in (names_dir / "SHA256SUMS").read_text().splitlines():
        digest, filename = line.split()
        listed[filename.removesuffix(".txt")] = digest
    assert listed == NAMES_SHA256
    assert list(LANGUAGES) == sorted(listed) and len(LANGUAGES) == 18


def test_real_files_give_one_row_per_line(real_names: pd.DataFrame) -> None:
    assert list(real_names.columns) == ["name", "language"]
    assert len(real_names) == 20_074
    counts = real_names["language"].value_counts()
    assert sorted(counts.index) == list(LANGUAGES)
    assert counts["Russian"] == 9_408
    assert counts["Vietnamese"] == 73
    assert counts["Arabic"] == 2_000  # duplicates are kept by the loader


def test_only_trailing_whitespace_is_stripped(real_names: pd.DataFrame) -> None:
    assert not real_names["name"].str.contains(r"\s$").any()
    korean = set(real_names.loc[real_names["language"] == "Korean", "name"])
    assert "Park" in korean  # the file has "Park " with a trailing space
    assert "To The First\xa0 Page" in set(real_names["name"])  # inner whitespace kept


def test_env_var_is_used_when_no_root_is_given(names_dir, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("IMBLOSS_NAMES_DIR", str(names_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert len(load_names(download=False)) == 20_074


# --- fake files: verification -----------------------------------------------------------------


def _fake_contents() -> dict[str, bytes]:
    return {lang: f"{lang}a\n{lang}b  \n{lang}a\n".encode() for lang in LANGUAGES}


@pytest.fixture
def fake_sums(monkeypatch) -> dict[str, bytes]:
    """Make the fake contents the genuine ones as far as the loader can tell."""
    contents = _fake_contents()
    sums = {lang: hashlib.sha256(data).hexdigest() for lang, data in contents.items()}
    monkeypatch.setattr(names_module, "NAMES_SHA256", sums)
    return contents


@pytest.fixture
def isolated(tmp_path, monkeypatch) -> Path:
    """No IMBLOSS_NAMES_DIR, and an empty cache under tmp_path; returns the cache root."""
    monkeypatch.delenv("IMBLOSS_NAMES_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _write_folder(folder: Path, contents: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for lang, data in contents.items():
        (folder / f"{lang}.txt").write_bytes(data)
    return folder


def test_fake_folder_loads_with_its_own_sums(fake_sums, tmp_path) -> None:
    df = load_names(root=_write_folder(tmp_path / "names", fake_sums), download=False)
    assert len(df) == 3 * len(LANGUAGES)
    assert df["name"].head(3).tolist() == ["Arabica", "Arabicb", "Arabica"]  # "b  " stripped


def test_checksum_mismatch_names_the_file_and_both_sums(fake_sums, tmp_path) -> None:
    folder = _write_folder(tmp_path / "names", fake_sums)
    (folder / "Greek.txt").write_bytes(b"Tampered\n")
    actual = hashlib.sha256(b"Tampered\n").hexdigest()
    with pytest.raises(ValueError, match="checksum mismatch") as err:
        load_names(root=folder, download=False)
    message = str(err.value)
    assert "Greek.txt" in message
    assert names_module.NAMES_SHA256["Greek"] in message and actual in message
    assert "Arabic.txt" not in message


def test_genuine_sums_reject_fake_files(tmp_path) -> None:
    folder = _write_folder(tmp_path / "names", _fake_contents())
    with pytest.raises(ValueError, match="18 file"):
        load_names(root=folder, download=False)


def test_every_missing_file_is_listed(fake_sums, tmp_path) -> None:
    folder = _write_folder(tmp_path / "names", fake_sums)
    (folder / "Korean.txt").unlink()
    (folder / "Polish.txt").unlink()
    with pytest.raises(FileNotFoundError, match="2 of the 18") as err:
        load_names(root=folder, download=False)
    assert "Korean.txt" in str(err.value) and "Polish.txt" in str(err.value)


def test_given_folder_that_does_not_exist_says_what_to_pass(isolated, tmp_path) -> None:
    with pytest.raises(DataNotFoundError, match="root='.*nowhere' is not a folder; pass root="):
        load_names(root=tmp_path / "nowhere")


def test_env_var_folder_that_does_not_exist_says_what_to_set(isolated, monkeypatch) -> None:
    monkeypatch.setenv("IMBLOSS_NAMES_DIR", "/no/such/folder")
    with pytest.raises(FileNotFoundError) as err:
        load_names()
    message = str(err.value)
    assert message.startswith("$IMBLOSS_NAMES_DIR='/no/such/folder' is not a folder; set ")
    assert "or unset it to download them into" in message and "root=" not in message


def test_empty_env_var_folder_says_it_holds_no_names_file(isolated, tmp_path, monkeypatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("IMBLOSS_NAMES_DIR", str(tmp_path / "empty"))
    with pytest.raises(DataNotFoundError) as err:
        load_names()
    message = str(err.value)
    assert "holds none of the 18 names files (Arabic.txt ... Vietnamese.txt)" in message
    assert "set IMBLOSS_NAMES_DIR to a folder holding" in message and "\n" not in message
    assert err.value.exit_code == 4


def test_root_comes_before_env_var(fake_sums, isolated, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("IMBLOSS_NAMES_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"\$IMBLOSS_NAMES_DIR="):
        load_names()
    folder = _write_folder(tmp_path / "names", fake_sums)
    assert len(load_names(root=folder)) == 3 * len(LANGUAGES)


# --- fake files: download ------------------------------------------------------------------------


def _zip(path: Path, contents: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data/eng-fra.txt", "not a name file\n")
        for lang, data in contents.items():
            archive.writestr(f"data/names/{lang}.txt", data)
    return path


def _serve(monkeypatch, path: Path) -> None:
    monkeypatch.setattr(names_module, "NAMES_URL", path.as_uri())


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_download_installs_verified_files_and_nothing_else(
    fake_sums, isolated, tmp_path, monkeypatch
) -> None:
    _serve(monkeypatch, _zip(tmp_path / "data.zip", fake_sums))
    df = load_names()
    assert len(df) == 3 * len(LANGUAGES)
    assert _files_under(isolated) == ["imbloss", "imbloss/names"] + [
        f"imbloss/names/{lang}.txt" for lang in LANGUAGES
    ]
    _serve(monkeypatch, tmp_path / "gone.zip")  # a second call reads the cache
    assert load_names().equals(df)


def test_empty_cache_folder_is_downloaded_again(fake_sums, isolated, tmp_path, monkeypatch) -> None:
    (isolated / "imbloss" / "names").mkdir(parents=True)
    _serve(monkeypatch, _zip(tmp_path / "data.zip", fake_sums))
    assert len(load_names()) == 3 * len(LANGUAGES)
    assert len(list((isolated / "imbloss" / "names").glob("*.txt"))) == len(LANGUAGES)


def test_bad_file_in_the_cache_says_to_delete_the_cache(fake_sums, isolated, tmp_path) -> None:
    cache = _write_folder(isolated / "imbloss" / "names", fake_sums)
    (cache / "Irish.txt").write_bytes(b"O'Tampered\n")
    with pytest.raises(DataCorruptError, match="Irish.txt") as err:
        load_names()
    assert f"delete the folder {cache} to download again" in str(err.value)
    (cache / "Irish.txt").unlink()
    with pytest.raises(DataNotFoundError, match="1 of the 18") as err:
        load_names()
    assert f"Irish.txt; delete the folder {cache} to download again" in str(err.value)


def test_download_false_without_cache_says_what_to_set(isolated) -> None:
    with pytest.raises(FileNotFoundError, match="download=False.*IMBLOSS_NAMES_DIR"):
        load_names(download=False)


def test_failed_transfer_leaves_no_partial_file(fake_sums, isolated, monkeypatch) -> None:
    def half_then_fail(url: str, dest: Path) -> None:
        dest.write_bytes(b"PK\x03\x04 half a zip")
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(names_module, "_fetch", half_then_fail)
    with pytest.raises(DownloadError, match="connection reset.*offline, set IMBLOSS_NAMES_DIR"):
        load_names()
    assert _files_under(isolated) == ["imbloss"]


def test_unreachable_url_says_what_to_set(fake_sums, isolated, tmp_path, monkeypatch) -> None:
    _serve(monkeypatch, tmp_path / "offline.zip")
    with pytest.raises(RuntimeError, match="could not download.*IMBLOSS_NAMES_DIR"):
        load_names()
    assert _files_under(isolated) == ["imbloss"]


def test_downloaded_file_that_is_no_zip_leaves_nothing(isolated, tmp_path, monkeypatch) -> None:
    page = tmp_path / "error.html"
    page.write_text("<html>503 Service Unavailable</html>")
    _serve(monkeypatch, page)
    with pytest.raises(RuntimeError, match="not a readable zip"):
        load_names()
    assert _files_under(isolated) == ["imbloss"]


def test_download_with_bad_checksum_names_file_and_leaves_nothing(
    fake_sums, isolated, tmp_path, monkeypatch
) -> None:
    _serve(monkeypatch, _zip(tmp_path / "data.zip", {**fake_sums, "Irish": b"O'Tampered\n"}))
    with pytest.raises(ValueError, match="Irish.txt"):
        load_names()
    assert _files_under(isolated) == ["imbloss"]


def test_download_missing_files_lists_them_and_leaves_nothing(
    fake_sums, isolated, tmp_path, monkeypatch
) -> None:
    partial = {lang: data for lang, data in fake_sums.items() if lang not in {"Dutch", "Greek"}}
    _serve(monkeypatch, _zip(tmp_path / "data.zip", partial))
    with pytest.raises(FileNotFoundError, match="2 of the 18.*Dutch.txt, Greek.txt"):
        load_names()
    assert _files_under(isolated) == ["imbloss"]


# --- split -----------------------------------------------------------------------------------


def test_no_name_string_is_in_two_parts(real_split: pd.DataFrame) -> None:
    assert real_split.groupby("name")["split"].nunique().max() == 1
    assert set(real_split["split"]) == set(SPLITS)


def test_exact_duplicates_dropped_and_counted(real_names, real_split) -> None:
    report = real_split.attrs["split_report"]
    assert not real_split.duplicated(["name", "language"]).any()
    assert report["rows_in"] == 20_074
    assert report["rows_out"] == len(real_split) == 18_015
    assert report["duplicates_dropped"]["Arabic"] == 2_000 - 108
    assert report["duplicates_dropped"]["English"] == 0
    assert sum(report["duplicates_dropped"].values()) == 20_074 - 18_015


def test_cross_language_strings_keep_every_label(real_split) -> None:
    cross = real_split.attrs["split_report"]["cross_language_names"]
    labels = real_split.groupby("name")["language"].nunique()
    assert cross["count"] == int((labels > 1).sum()) == 469
    assert cross["rows"] == int(labels[labels > 1].sum())
    abel = real_split[real_split["name"] == "Abel"]
    assert sorted(abel["language"]) == cross["examples"]["Abel"]
    assert len(abel) == 5


def test_every_language_in_every_part_near_the_fractions(real_split) -> None:
    table = pd.crosstab(real_split["language"], real_split["split"])
    assert (table.loc[list(LANGUAGES), list(SPLITS)] >= 1).all().all()
    shares = table.div(table.sum(axis=1), axis=0)
    for split, target in zip(SPLITS, (0.70, 0.15, 0.15)):
        # the rarest languages are cut exactly (+-1 string); the others carry cross-language
        # strings filed under a rarer language, which adds a little noise
        assert (shares[split] - target).abs().max() < 0.03, shares[split]
    assert table.loc["Vietnamese", list(SPLITS)].tolist() == [49, 11, 11]


def test_report_matches_the_split_and_prints(real_split) -> None:
    report = real_split.attrs["split_report"]
    table = pd.crosstab(real_split["language"], real_split["split"])
    for split in SPLITS:
        assert report["rows_per_split"][split] == {
            lang: int(table.loc[lang, split]) for lang in LANGUAGES
        }
    text = str(report)
    assert "20074 lines in" in text and "2059 exact duplicate" in text
    assert any(line.split()[:3] == ["Arabic", "2000", "1892"] for line in text.splitlines())
    assert text.splitlines()[-1].split() == ["total", "20074", "2059", "12603", "2708", "2704"]


def test_split_is_deterministic_and_ignores_row_order(real_names) -> None:
    first = split_names(real_names, seed=3)
    again = split_names(real_names.sample(frac=1.0, random_state=1), seed=3)
    assert dict(zip(first["name"], first["split"])) == dict(zip(again["name"], again["split"]))
    other = split_names(real_names, seed=4)
    assert not first["split"].equals(other["split"])


def _small_frame(strings_per_language: int) -> pd.DataFrame:
    rows = [(f"{lang}{i}", lang) for lang in ("A", "B") for i in range(strings_per_language)]
    return pd.DataFrame(rows, columns=["name", "language"])


@pytest.mark.parametrize("fractions", [(0.8, 0.2, 0.0), (0.7, 0.2, 0.2), (0.5, 0.5)])
def test_bad_fractions_are_rejected(fractions) -> None:
    with pytest.raises(ValueError, match="fractions"):
        split_names(_small_frame(10), fractions=fractions)


def test_too_few_strings_for_three_parts_names_the_language() -> None:
    df = pd.concat([_small_frame(10), pd.DataFrame({"name": ["c1", "c2"], "language": "C"})])
    with pytest.raises(ValueError, match="'C'.*only 2"):
        split_names(df)
    assert set(split_names(_small_frame(3))["split"]) == set(SPLITS)


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="language"):
        split_names(pd.DataFrame({"name": ["a"]}))


# --- prepare_names ---------------------------------------------------------------------------


def test_prepared_names_honour_the_trainer_contract(prepared, real_split) -> None:
    assert prepared.kind == "sequence"
    assert prepared.class_names == list(LANGUAGES)
    assert prepared.input_size == len(prepared.info["vocab"]) == prepared.info["vocab_size"]
    for split in SPLITS:
        part = getattr(prepared, split)
        assert part.x.dtype == part.y.dtype == part.lengths.dtype == torch.int64
        assert part.x.shape == (len(part), int(part.lengths.max()))
        assert int(part.lengths.min()) >= 1
        assert 0 <= int(part.y.min()) and int(part.y.max()) < prepared.num_classes
        assert int(part.x.max()) < prepared.input_size
        positions = torch.arange(part.x.shape[1])
        padding = positions[None, :] >= part.lengths[:, None]
        assert (part.x[padding] == PAD).all() and (part.x[~padding] != PAD).all()
        expected = real_split["split"].eq(split).groupby(real_split["language"]).sum()
        counts = torch.bincount(part.y, minlength=18).tolist()
        assert counts == [int(expected[lang]) for lang in LANGUAGES]
    assert not (prepared.train.x == OOV).any()  # the vocabulary is built on train
    assert prepared.info["duplicates_dropped"] == 2_059
    assert prepared.info["cross_language_names"] == 469


def test_prepared_rows_encode_their_names(prepared, real_split) -> None:
    vocab = prepared.info["vocab"]
    test_names = real_split.loc[real_split["split"] == "test", "name"].tolist()
    for row in (0, len(test_names) // 2, len(test_names) - 1):
        length = int(prepared.test.lengths[row])
        assert prepared.test.x[row, :length].tolist() == vocab.encode(test_names[row])
