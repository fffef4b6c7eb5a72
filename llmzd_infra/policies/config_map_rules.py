"""No secret-looking values in ConfigMaps: they are readable by anyone who can read the namespace."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llmzd_infra.credentials import CREDENTIAL_PATTERNS
from llmzd_infra.policies.k8s_fields import mapping

SECRET_WORDS = frozenset({"token", "password", "passwd", "secret", "apikey"})
SECRET_VALUE_PATTERNS = CREDENTIAL_PATTERNS
_WORD_BOUNDARY = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def key_words(key: str) -> list[str]:
    """``HF_TOKEN`` -> [hf, token]; ``apiKey`` -> [api, key]; ``db.password`` -> [db, password]."""
    return [word.lower() for word in _WORD_BOUNDARY.split(key) if word]


def key_names_a_secret(key: str) -> bool:
    """The last word names a credential: ``HF_TOKEN``, ``api-key``; not ``TOKEN_FILE``, ``MAX_TOKENS``."""
    words = key_words(key)
    if not words:
        return False
    return words[-1] in SECRET_WORDS or words[-2:] == ["api", "key"]


def no_secrets_in_config_map(config_map: Mapping[str, Any]) -> list[str]:
    messages = []
    for key, value in mapping(config_map.get("data")).items():
        text = "" if value is None else str(value)
        # Never echo the value: the message ends up in CI logs and PR comments.
        if text.strip() and key_names_a_secret(str(key)):
            messages.append(f"key '{key}' names a credential and has a value: move it to a Secret")
            continue
        for description, pattern in SECRET_VALUE_PATTERNS:
            if pattern.search(text):
                messages.append(f"value of key '{key}' looks like {description}: move it to a Secret")
                break
    return messages
