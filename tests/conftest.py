"""Fixtures shared by every test package: the vLLM test server and the Kubernetes API test server."""

from tests.support.kube_fixtures import fake_kube_api  # noqa: F401
from tests.support.vllm_fixtures import fake_vllm  # noqa: F401
