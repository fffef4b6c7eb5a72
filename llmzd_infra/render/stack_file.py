"""Read ``Pulumi.<stack>.yaml`` into the raw config the Pulumi language host would hand the program."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

SECRET_PLACEHOLDER = "[secret]"


class StackFileError(ValueError):
    pass


def read_stack_config(path: Path) -> tuple[dict[str, str], set[str]]:
    """Config values as strings (objects JSON-encoded, as the CLI does) and the set of secret keys.

    Encrypted ``secure:`` values cannot be decrypted without the CLI; they become a placeholder, still
    marked secret, so the render shows where a secret goes without ever holding it.
    """
    if not path.is_file():
        raise StackFileError(f"stack file {path} not found: create it with `pulumi stack init` or pass --config")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise StackFileError(f"{path}: not valid YAML ({error.__class__.__name__})") from None
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path}: 'config' must be a mapping of 'namespace:key' to values")
    raw: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            raw[key] = SECRET_PLACEHOLDER
            secret_keys.add(key)
        else:
            raw[key] = _as_config_string(value)
    return raw, secret_keys


def _as_config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)
