"""The committed export samples are exactly what their generator writes."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tests.autopilot.conftest import SAMPLES
from tests.conftest import ROOT


def test_export_samples_match_their_generator(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_export_samples.py"), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for folder in ("aurora", "redshift"):
        generated = sorted(
            p.relative_to(tmp_path) for p in (tmp_path / folder).rglob("*") if p.is_file()
        )
        committed = sorted(
            p.relative_to(SAMPLES)
            for p in (SAMPLES / folder).rglob("*")
            if p.is_file() and p.name != "README.md"
        )
        assert generated == committed
        for rel in generated:
            if rel.suffix == ".parquet":
                # The writer's version is in the footer; compare contents instead.
                assert pq.read_table(tmp_path / rel).equals(pq.read_table(SAMPLES / rel))
            elif rel.name.endswith("manifest"):
                # Parquet part sizes, and so their manifest entries, follow the writer.
                assert _without_parquet_sizes(tmp_path / rel) == _without_parquet_sizes(
                    SAMPLES / rel
                )
            else:
                assert filecmp.cmp(tmp_path / rel, SAMPLES / rel, shallow=False), rel
    size = sum(
        p.stat().st_size
        for f in ("aurora", "redshift")
        for p in (SAMPLES / f).rglob("*")
        if p.is_file()
    )
    assert size < 1_000_000


def _without_parquet_sizes(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    for e in doc["entries"]:
        if e["url"].endswith(".parquet"):
            e["meta"].pop("content_length")
    return doc
