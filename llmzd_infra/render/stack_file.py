"""Read ``Pulumi.<stack>.yaml`` into the raw config the Pulumi language host would hand the program."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import yaml

from llmzd_infra.config.loader import CONFIG_NAMESPACE
from llmzd_infra.config.spelling import edit_distance

SECRET_PLACEHOLDER = "[secret]"
# Namespaces a few letters from ours are taken for typos; others (kubernetes:, aws:) belong to other packages.
_NAMESPACE_TYPO_DISTANCE = 2


class StackFileError(ValueError):
    pass


def read_stack_config(path: Path) -> tuple[dict[str, str], set[str]]:
    """Config values as strings (objects JSON-encoded, as the CLI does) and the set of secret keys.

    Encrypted ``secure:`` values cannot be decrypted without the CLI; they become a placeholder, still
    marked secret, so the render shows where a secret goes without ever holding it.
    """
    if not path.is_file():
        raise StackFileError(f"stack file {path} not found: create it with `pulumi stack init` or pass --config")
    document = _load_yaml(path)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise StackFileError(
            f"{path}: the top level is {_kind(document)}; expected a mapping with a 'config:' key, e.g.\n"
            "config:\n  llmzd:models:\n    - name: vllm\n      model:\n        id: Qwen/Qwen2.5-0.5B-Instruct"
        )
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError(
            f"{path}: 'config' is {_kind(config)}; expected a mapping of 'llmzd:<key>' to values"
        )
    problems = [problem for key in config if (problem := _key_problem(key)) is not None]
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        raise StackFileError(f"{path}: {len(problems)} config key(s) cannot be used:\n{lines}")
    raw: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            raw[key] = SECRET_PLACEHOLDER
            secret_keys.add(key)
        else:
            raw[key] = _as_config_string(value)
    return raw, secret_keys


def _load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise StackFileError(f"{path}: not UTF-8 text (byte {error.start}): save it as UTF-8") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        raise StackFileError(_yaml_message(path, error)) from None
    except yaml.reader.ReaderError as error:  # a character YAML does not allow, e.g. a control character
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        raise StackFileError(
            f"{path}:{line}:{column}: not valid YAML: character {error.character:#06x} is not allowed "
            "(control characters other than tab and line breaks are refused)"
        ) from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from None
    except (ValueError, OverflowError) as error:  # PyYAML builds dates itself: 0000-01-01 has no year 0
        raise StackFileError(
            f"{path}: not usable YAML: {error} (a date YAML reads but Python cannot hold; quote it to keep it as text)"
        ) from None
    except RecursionError:
        raise StackFileError(f"{path}: not usable YAML: nested too deeply") from None


def _yaml_message(path: Path, error: yaml.MarkedYAMLError) -> str:
    """``FILE:LINE:COLUMN: not valid YAML: PROBLEM (CONTEXT at LINE:COLUMN)``, 1-based like editors count."""
    mark = error.problem_mark or error.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    message = f"{where}: not valid YAML: {error.problem or 'unreadable document'}"
    if error.context:
        context_mark = error.context_mark
        at = f" at {context_mark.line + 1}:{context_mark.column + 1}" if context_mark is not None else ""
        message += f" ({error.context}{at})"
    return message


def _key_problem(key: Any) -> str | None:
    if not isinstance(key, str):
        return f"{key!r}: a config key must be text such as 'llmzd:namespace'"
    if ":" not in key:
        # Pulumi reads stack-file keys with config.ParseKey, which accepts only `<namespace>:<name>`: the CLI
        # refuses to load the whole file. Only `pulumi config set KEY` and Pulumi.yaml's own `config:` block put
        # a bare key in the project's namespace (sdk/go/common/resource/config/key.go, workspace/config.go).
        return (
            f"{key!r} has no namespace: Pulumi refuses to load a stack file with it (keys there must be "
            f"'<namespace>:<name>'); write it as '{CONFIG_NAMESPACE}:{key}', or run "
            f"`pulumi config set {key} ...`, which adds the project's '{CONFIG_NAMESPACE}:' itself"
        )
    namespace, name = key.split(":", 1)
    if namespace != CONFIG_NAMESPACE and 0 < edit_distance(namespace.casefold(), CONFIG_NAMESPACE) <= (
        _NAMESPACE_TYPO_DISTANCE
    ):
        return (
            f"{key!r} is in namespace '{namespace}', which this program never reads: "
            f"did you mean '{CONFIG_NAMESPACE}:{name}'?"
        )
    return None


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return f"a {type(value).__name__} value"


def _as_config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(_json_ready(value))


def _json_ready(value: Any) -> Any:
    """What the Pulumi CLI would store: YAML dates as their text, every mapping key as text."""
    if isinstance(value, dict):
        return {str(key) if not isinstance(key, str) else key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


__all__ = ["SECRET_PLACEHOLDER", "StackFileError", "read_stack_config"]
