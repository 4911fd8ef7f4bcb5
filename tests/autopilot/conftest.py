"""Fixtures for the autopilot tests: the export samples in moto and the rows they were
generated from (helpers to call ``sys.heatwave_load`` are in ``helpers.py``)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import ROOT, S3Server

SAMPLES = ROOT / "sample_data"


def load_generator() -> ModuleType:
    """``scripts/make_export_samples.py`` as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location(
        "make_export_samples", ROOT / "scripts" / "make_export_samples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def generator() -> ModuleType:
    return load_generator()


@pytest.fixture(scope="session")
def source(generator: ModuleType) -> dict[str, Any]:
    """The rows the committed samples were generated from."""
    return generator.datasets()  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def samples_bucket(s3: S3Server, generator: ModuleType) -> str:
    """``sample_data/aurora`` and ``sample_data/redshift`` in moto, where their
    manifests say they are (bucket ``lakehouse-samples``)."""
    bucket = generator.BUCKET
    s3.make_bucket(bucket)
    s3.upload_dir(bucket, "aurora/", SAMPLES / "aurora")
    s3.upload_dir(bucket, "redshift/", SAMPLES / "redshift")
    return str(bucket)
