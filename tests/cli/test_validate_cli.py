"""Tests for `doorstep validate`: exit codes, output formats, and bad input."""

import io
import json
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from doorstep.cli import app
from manifests import CLEAN_ROWS, ORDER_HEADER, REPO, order_row

SAMPLE = REPO / "examples" / "helsinki"
runner = CliRunner()


def _write(tmp_path: Path, name: str, *rows: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([ORDER_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_sample_table_view_groups_findings_and_exits_2() -> None:
    """The demo command prints a summary and the findings grouped by code; exit code 2."""
    result = runner.invoke(
        app, ["validate", str(SAMPLE / "orders.csv"), "--fleet", str(SAMPLE / "fleet.csv")]
    )
    assert result.exit_code == 2
    assert "300 rows" in result.stdout
    assert "zip_mismatch" in result.stdout
    assert "coord_swapped" in result.stdout


def test_json_output_is_parseable_and_complete() -> None:
    """--format json prints the documented document, nothing else."""
    result = runner.invoke(
        app,
        [
            "validate",
            str(SAMPLE / "orders.csv"),
            "-f",
            str(SAMPLE / "fleet.csv"),
            "--format",
            "json",
        ],
    )
    document = json.loads(result.stdout)
    assert document["rows"] == document["accepted"] + document["rejected"]
    assert {f["code"] for f in document["findings"]} >= {"coord_missing", "unit_missing"}


def test_clean_file_exits_0_and_warnings_exit_1(tmp_path: Path) -> None:
    """Exit 0 for a clean manifest, 1 when only warnings remain."""
    clean = _write(tmp_path, "clean.csv", *CLEAN_ROWS)
    assert runner.invoke(app, ["validate", str(clean)]).exit_code == 0
    warned = _write(tmp_path, "warned.csv", *CLEAN_ROWS, order_row("X1", email="maija@"))
    assert runner.invoke(app, ["validate", str(warned)]).exit_code == 1


def test_all_lists_every_finding(tmp_path: Path) -> None:
    """--all adds a table with one line per finding."""
    path = _write(
        tmp_path, "o.csv", *CLEAN_ROWS, order_row("X1", email="a@"), order_row("X2", email="b@")
    )
    result = runner.invoke(app, ["validate", str(path), "--all"])
    assert "Every finding" in result.stdout
    assert result.stdout.count("email_invalid") == 3


def _truncated_xlsx(tmp_path: Path) -> Path:
    workbook = openpyxl.Workbook()
    workbook.active.append(["order_id", "lat", "lon"])  # type: ignore[union-attr]
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = tmp_path / "orders.xlsx"
    path.write_bytes(buffer.getvalue()[:700])
    return path


def _file(name: str, data: bytes | None) -> Callable[[Path], Path]:
    """A maker of a file with these bytes (None: do not create it)."""

    def make(folder: Path) -> Path:
        path = folder / name
        if data is not None:
            path.write_bytes(data)
        return path

    return make


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (_file("missing.csv", None), "input"),
        (_file("empty.csv", b""), "empty_input"),
        (_file("header.csv", ORDER_HEADER.encode()), "empty_input"),
        (_file("nothing.csv", b"foo,bar\n1,2\n"), "no_recognised_columns"),
        (_file("orders.pdf", b"%PDF-1.7"), "unsupported_format"),
        (_file("zip.csv", b"PK\x03\x04zzz"), "corrupt_file"),
        (_truncated_xlsx, "corrupt_file"),
    ],
    ids=["missing", "empty", "header-only", "no-columns", "pdf", "zip-as-csv", "truncated-xlsx"],
)
def test_bad_input_gives_one_clear_message_and_exit_2(
    tmp_path: Path, make: Callable[[Path], Path], code: str
) -> None:
    """Unusable files: exit 2, the error code and the file name on stderr, no traceback."""
    path = make(tmp_path)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"({code})" in result.stderr
    assert path.name in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_help_teaches_the_command() -> None:
    """--help explains what is checked and the exit codes."""
    result = runner.invoke(app, ["validate", "--help"])
    assert result.exit_code == 0
    assert "Exit code" in result.stdout
