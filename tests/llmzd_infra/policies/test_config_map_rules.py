from __future__ import annotations

import pytest

from llmzd_infra.policies.config_map_rules import key_names_a_secret, no_secrets_in_config_map
from tests.llmzd_infra.policies.k8s_objects import config_map

HF_TOKEN_VALUE = "hf_" + "Ab3" * 10
AWS_KEY_VALUE = "AKIA" + "ABCDEFGHIJKLMNOP"


@pytest.mark.parametrize("key", ["HF_TOKEN", "hfToken", "DB_PASSWORD", "api-key", "apiKey", "OPENAI_API_KEY",
                                 "client.secret", "passwd"])
def test_credential_key_names_are_recognised(key: str) -> None:
    assert key_names_a_secret(key)


@pytest.mark.parametrize(
    "key", ["MAX_TOKENS", "HF_TOKEN_FILE", "SECRET_NAME", "tokenizer", "LLMZD_MODEL_ID", ""]
)
def test_ordinary_key_names_pass(key: str) -> None:
    assert not key_names_a_secret(key)


def test_clean_config_map_passes() -> None:
    data = {"LLMZD_MODEL_ID": "Qwen/Qwen2.5-0.5B-Instruct", "LLMZD_MAX_TOKENS": "256", "ca.crt": (
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")}
    assert no_secrets_in_config_map(config_map(**data)) == []


def test_credential_key_with_empty_value_passes() -> None:
    assert no_secrets_in_config_map(config_map(HF_TOKEN="")) == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"HF_TOKEN": "anything"}, "names a credential"),
        ({"MODEL_ARGS": f"--token {HF_TOKEN_VALUE}"}, "Hugging Face token"),
        ({"tls.key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"}, "PEM"),
        ({"S3_SETTINGS": f"id={AWS_KEY_VALUE}"}, "AWS access key"),
    ],
)
def test_secret_looking_data_fails_without_echoing_the_value(data: dict[str, str], expected: str) -> None:
    messages = no_secrets_in_config_map(config_map(**data))
    assert len(messages) == 1
    assert expected in messages[0]
    (value,) = data.values()
    assert value not in messages[0]
    assert HF_TOKEN_VALUE not in messages[0] and AWS_KEY_VALUE not in messages[0]


def test_config_map_without_data_passes() -> None:
    obj = config_map()
    del obj["data"]
    assert no_secrets_in_config_map(obj) == []
