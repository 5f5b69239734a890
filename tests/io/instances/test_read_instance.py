"""read_instance: format detection by content and extension, and its errors."""

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import doorstep.io.instances
from doorstep.domain import Instance
from doorstep.errors import InputError, InstanceFormatError, UnsupportedFormatError
from doorstep.io.instances import INSTANCE_FORMATS, read_instance
from doorstep.io.instances.lilim import read_lilim
from doorstep.io.instances.solomon import read_solomon
from doorstep.io.instances.vroom import read_vroom
from doorstep.io.instances.vrplib_format import read_vrplib

DATA = Path(__file__).parents[2] / "data"

FILES: dict[str, tuple[str, Callable[[Path], Instance]]] = {
    "C101.txt": ("solomon", read_solomon),
    "lc101.txt": ("lilim", read_lilim),
    "tiny-n7-k2.vrp": ("vrplib", read_vrplib),
    "tiny_vroom.json": ("vroom", read_vroom),
}


def test_all_is_sorted_and_formats_are_listed() -> None:
    """The package exports a sorted __all__ and the four format names."""
    assert doorstep.io.instances.__all__ == sorted(doorstep.io.instances.__all__)
    assert set(doorstep.io.instances.__all__) == {"INSTANCE_FORMATS", "read_instance"}
    assert INSTANCE_FORMATS == ("solomon", "lilim", "vrplib", "vroom")
    assert {fmt for fmt, _ in FILES.values()} == set(INSTANCE_FORMATS)


@pytest.mark.parametrize("name", FILES)
def test_detection_picks_the_right_reader(name: str) -> None:
    """Each data file read without a format equals what its own reader gives."""
    _, reader = FILES[name]
    assert read_instance(DATA / name) == reader(DATA / name)


@pytest.mark.parametrize("name", FILES)
def test_content_wins_over_a_misleading_extension(name: str, tmp_path: Path) -> None:
    """A file renamed to a neutral .dat extension is still recognised by its content."""
    _, reader = FILES[name]
    renamed = tmp_path / f"{Path(name).stem}.dat"
    shutil.copy(DATA / name, renamed)
    assert read_instance(renamed) == reader(renamed)


@pytest.mark.parametrize("name", FILES)
def test_explicit_format_is_used(name: str) -> None:
    """Passing the right format gives the same instance as detection."""
    fmt, reader = FILES[name]
    assert read_instance(DATA / name, format=fmt) == reader(DATA / name)


def test_wrong_explicit_format_is_an_instance_format_error() -> None:
    """Reading C101 as Li & Lim fails with an InstanceFormatError naming a line."""
    with pytest.raises(InstanceFormatError, match=r"C101\.txt, line 1: "):
        read_instance(DATA / "C101.txt", format="lilim")


def test_unknown_format_name_is_unsupported() -> None:
    """A format name that is not in INSTANCE_FORMATS raises UnsupportedFormatError."""
    with pytest.raises(UnsupportedFormatError, match="'tsplib' is not an instance format"):
        read_instance(DATA / "C101.txt", format="tsplib")


def test_unrecognisable_content_is_unsupported(tmp_path: Path) -> None:
    """A text file that matches no format raises UnsupportedFormatError."""
    path = tmp_path / "notes.txt"
    path.write_text("Shopping list\nmilk\nbread\n")
    with pytest.raises(UnsupportedFormatError, match=r"notes\.txt: not recognisably an instance"):
        read_instance(path)


def test_extension_decides_when_content_does_not(tmp_path: Path) -> None:
    """Unrecognisable content in a .json file goes to the VROOM reader, which explains."""
    path = tmp_path / "problem.json"
    path.write_text("not json at all")
    with pytest.raises(InstanceFormatError, match=r"problem\.json, line 1, column 1: "):
        read_instance(path)


def test_empty_file_is_an_instance_format_error(tmp_path: Path) -> None:
    """An empty file raises InstanceFormatError at line 1, not UnsupportedFormatError."""
    path = tmp_path / "empty.txt"
    path.write_text("\n \n")
    with pytest.raises(InstanceFormatError, match=r"empty\.txt, line 1: the file is empty"):
        read_instance(path)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    """A missing file raises InputError (not an instance format problem)."""
    with pytest.raises(InputError, match="no such file") as caught:
        read_instance(tmp_path / "absent.vrp")
    assert not isinstance(caught.value, InstanceFormatError)


def test_non_utf8_file_is_an_instance_format_error(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 raise InstanceFormatError naming the byte."""
    path = tmp_path / "binary.txt"
    path.write_bytes(b"C101\n\xff\xfe\x00")
    with pytest.raises(InstanceFormatError, match=r"binary\.txt, byte 5: not UTF-8"):
        read_instance(path)
