"""Transparent huge pages are off for the process while a load runs, and back as they
were after (Linux only)."""

from __future__ import annotations

import ctypes
import sys

import pytest

from lakehouse.cluster.hugepages import restore_huge_pages, without_huge_pages

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux prctl")


def _disabled() -> bool:
    return int(ctypes.CDLL(None).prctl(42, 0, 0, 0, 0)) == 1


def test_off_during_loads_and_restored_after() -> None:
    restore_huge_pages()  # as an engine that keeps them has it (an engine turns them off)
    before = _disabled()
    assert not before
    with without_huge_pages():
        assert _disabled()
        with without_huge_pages():  # a second, concurrent load
            assert _disabled()
        assert _disabled()  # the first is still running
    assert _disabled() == before


def test_a_process_that_had_them_off_keeps_them_off() -> None:
    libc = ctypes.CDLL(None)
    libc.prctl(41, 1, 0, 0, 0)
    try:
        with without_huge_pages():
            assert _disabled()
        assert _disabled()
    finally:
        restore_huge_pages()
