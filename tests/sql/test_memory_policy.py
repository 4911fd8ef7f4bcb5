"""The engine's process runs without transparent huge pages unless the settings keep them
(``lakehouse.cluster.hugepages.memory_policy``); ``restore_huge_pages`` gives them back."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lakehouse.cluster.hugepages import restore_huge_pages
from lakehouse.config import Settings
from lakehouse.sql.engine import Engine

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux prctl")


def _huge_pages_enabled() -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("THP_enabled:"):
            return line.split()[1] == "1"
    pytest.skip("this kernel does not report THP_enabled")


def test_engine_turns_huge_pages_off_unless_kept(tmp_path: Path) -> None:
    restore_huge_pages()
    try:
        kept = Engine(Settings(data_dir=tmp_path / "a", huge_pages=True), persistent=False)
        kept.close()
        assert _huge_pages_enabled()
        engine = Engine(Settings(data_dir=tmp_path / "b"), persistent=False)
        engine.close()
        assert not _huge_pages_enabled()
    finally:
        restore_huge_pages()


def test_huge_pages_setting_from_the_environment() -> None:
    assert not Settings.from_env({}).huge_pages
    assert Settings.from_env({"LAKEHOUSE_HUGE_PAGES": "on"}).huge_pages
    assert not Settings.from_env({"LAKEHOUSE_HUGE_PAGES": "off"}).huge_pages
