"""The stack-file JSON Schema, the config models, Pulumi.yaml and the config reference (docs/config.md) agree."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from llmzd_infra.config.json_schema import SCHEMA_FILE, schema_text, stack_file_schema
from llmzd_infra.config.loader import _PLAIN_KEYS, DEFAULT_HF_TOKEN_KEY, KUBECONFIG_KEY
from llmzd_infra.config.models import ModelDeployment, StackConfig
from llmzd_infra.config.reference_doc import MODEL_TABLE, STACK_TABLE, reference_rows
from llmzd_infra.config.schema_cli import EXIT_OK, EXIT_STALE
from llmzd_infra.config.spelling import _model_in
from tests.support.stacks import DEV_STACK_FILE, REPO_ROOT


def field_paths(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every key a user can write below ``model``, as camelCase dotted paths (list items share their list's path)."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        yield path
        nested = _model_in(field.annotation)
        if nested is not None:
            yield from field_paths(nested, f"{path}.")


def documented(path: str, keys: set[str]) -> bool:
    """Documented: its own row, a row of an enclosing key (or its wildcard), or rows for the keys inside it."""
    if any(key.startswith(f"{path}.") for key in keys):
        return True
    parts = path.split(".")
    return any(".".join(parts[:n]) in keys or ".".join(parts[:n]) + ".*" in keys for n in range(1, len(parts) + 1))


def table_keys(table: str) -> set[str]:
    return {key for row in reference_rows()[table] for key in row.keys}


def test_the_committed_schema_is_the_generated_one() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), "run `python -m llmzd_infra schema`"


def test_every_model_key_is_in_the_config_reference() -> None:
    model_keys = table_keys(MODEL_TABLE)
    missing = [path for path in field_paths(ModelDeployment) if not documented(path, model_keys)]
    assert missing == []
    stack_keys = table_keys(STACK_TABLE)
    stack_fields = [p for p in field_paths(StackConfig) if not p.startswith(("models.", "cluster"))]
    raw_keys = [*_PLAIN_KEYS, KUBECONFIG_KEY, DEFAULT_HF_TOKEN_KEY]
    assert [p for p in [*stack_fields, *raw_keys] if not documented(p, stack_keys)] == []


def test_every_reference_row_names_a_real_key() -> None:
    model_paths = set(field_paths(ModelDeployment))
    for key in table_keys(MODEL_TABLE):
        assert key.removesuffix(".*") in model_paths, key
    stack_paths = set(field_paths(StackConfig)) | {*_PLAIN_KEYS, KUBECONFIG_KEY, DEFAULT_HF_TOKEN_KEY, "<hfTokenKey>"}
    for key in table_keys(STACK_TABLE):
        assert key in stack_paths, key


def test_the_schema_carries_the_references_descriptions() -> None:
    schema = stack_file_schema()
    config = schema["properties"]["config"]["properties"]
    assert config["llmzd:gpuBudget"]["description"].startswith("GPUs the stack may hold at once")
    drain = schema["$defs"]["DrainConfig"]["properties"]["preStopSeconds"]
    assert drain["description"].startswith("preStop sleep") and drain["default"] == 60


def test_the_dev_stack_is_valid_and_a_misspelt_key_is_not() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    document = yaml.safe_load(DEV_STACK_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(document)
    broken = copy.deepcopy(document)
    broken["config"]["llmzd:models"][0]["gpuPerReplica"] = 2
    with pytest.raises(jsonschema.ValidationError, match="gpuPerReplica"):
        jsonschema.Draft202012Validator(schema).validate(broken)
    plain_token = copy.deepcopy(document)
    plain_token["config"]["llmzd:hfToken"] = "hf_plain"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(plain_token)


def test_booleans_take_the_strings_pulumi_stores_and_nothing_else() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    document = yaml.safe_load(DEV_STACK_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for value in (False, "false", "true"):  # `pulumi config set --path ... false` writes the string
        stored = copy.deepcopy(document)
        stored["config"]["llmzd:models"][0].setdefault("gates", {})["enabled"] = value
        validator.validate(stored)
        StackConfig.model_validate({"models": [{"name": "a", "model": {"id": "m"}, "gates": {"enabled": value}}]})
    for value in (0, "yes", "False"):
        wrong = copy.deepcopy(document)
        wrong["config"]["llmzd:models"][0].setdefault("gates", {})["enabled"] = value
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(wrong)


def test_the_dev_stack_points_editors_at_the_schema() -> None:
    first_line = DEV_STACK_FILE.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=./schema/stack-config.schema.json"
    assert (REPO_ROOT / "schema" / "stack-config.schema.json") == SCHEMA_FILE


def test_pulumi_project_config_declares_real_keys_with_the_models_defaults() -> None:
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    declared = project["config"]
    assert set(declared) <= set(_PLAIN_KEYS)
    # Pulumi requires a declared key that has no default; only models is required by llmzd.
    assert [key for key, spec in declared.items() if "default" not in spec] == ["models"]
    defaults = StackConfig.model_fields
    assert declared["namespace"]["default"] == defaults["namespace"].default
    assert declared["namespace"]["type"] == "string"
    assert StackConfig.model_validate({"models": [{"name": "a", "model": {"id": "m"}}],
                                       "addons": declared["addons"]["default"]}).addons == defaults["addons"].default
    for key in ("kubeContext", "renderYamlToDirectory"):
        assert declared[key] == {**declared[key], "type": "string", "default": ""}  # empty means unset
    for spec in declared.values():  # Pulumi's project schema types only these
        assert spec.get("type", "string") in {"string", "integer", "boolean", "array"}
        assert spec["description"]


def test_schema_check_reports_a_stale_file(tmp_path: Path) -> None:
    from llmzd_infra.__main__ import main

    stale = tmp_path / "schema.json"
    stale.write_text("{}\n")
    assert main(["schema", "--check", "--output", str(stale)]) == EXIT_STALE
    assert main(["schema", "--output", str(stale)]) == EXIT_OK
    assert main(["schema", "--check", "--output", str(stale)]) == EXIT_OK
    assert stale.read_text() == schema_text()
