"""Pytest fixture for the fake Kubernetes API server (see tests/support/fake_kube_api.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_kube_api import FakeKubeAPI, running_fake_kube_api


@pytest.fixture
def fake_kube_api(tmp_path: Path) -> Iterator[FakeKubeAPI]:
    """A running fake API server with a token-auth kubeconfig written to ``api.kubeconfig_path``."""
    with running_fake_kube_api() as api:
        api.write_kubeconfig(tmp_path / "kubeconfig")
        yield api
