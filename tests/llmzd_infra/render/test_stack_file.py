"""Reading a stack file: every broken file ends in one clear error naming the file (and where it can, the line)."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from llmzd_infra.config import ConfigError, parse_stack_config
from llmzd_infra.render.stack_file import StackFileError, read_stack_config


def read(tmp_path: Path, text: str) -> tuple[dict[str, str], set[str]]:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(text, encoding="utf-8")
    return read_stack_config(path)


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(StackFileError) as caught:
        read(tmp_path, text)
    return str(caught.value)


def test_invalid_yaml_names_file_line_column_and_the_parsers_problem(tmp_path: Path) -> None:
    message = error_of(tmp_path, "config:\n  llmzd:models:\n  - name: x\n   bad: indent\n")
    assert message == (
        f"{tmp_path / 'Pulumi.t.yaml'}:4:4: not valid YAML: expected <block end>, but found "
        "'<block mapping start>' (while parsing a block mapping at 2:3)"
    )


def test_a_disallowed_character_is_located(tmp_path: Path) -> None:
    message = error_of(tmp_path, 'config:\n  llmzd:namespace: "a\x07"\n')
    assert message.endswith("Pulumi.t.yaml:2:22: not valid YAML: character 0x0007 is not allowed "
                            "(control characters other than tab and line breaks are refused)")


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "a list"), ("just text\n", "text"), ("42\n", "a int value")])
def test_a_top_level_that_is_not_a_mapping_is_a_clear_error(tmp_path: Path, text: str, kind: str) -> None:
    message = error_of(tmp_path, text)
    assert f"the top level is {kind}; expected a mapping with a 'config:' key" in message


def test_config_that_is_not_a_mapping_is_a_clear_error(tmp_path: Path) -> None:
    assert "'config' is a list; expected a mapping of 'llmzd:<key>' to values" in error_of(tmp_path, "config: [1]\n")


def test_a_key_without_the_namespace_is_refused_with_its_right_spelling(tmp_path: Path) -> None:
    message = error_of(tmp_path, "config:\n  gpuBudget: 2\n  llmzd:namespace: x\n")
    assert "1 config key(s) cannot be used" in message
    assert "'gpuBudget' has no namespace: Pulumi refuses to load a stack file with it" in message
    assert "write it as 'llmzd:gpuBudget'" in message


def test_a_misspelt_namespace_is_refused_but_other_packages_keys_pass(tmp_path: Path) -> None:
    message = error_of(tmp_path, "config:\n  llmdz:namespace: x\n  kubernetes:context: y\n")
    assert "'llmdz:namespace' is in namespace 'llmdz', which this program never reads: " \
           "did you mean 'llmzd:namespace'?" in message
    assert "kubernetes" not in message
    raw, _ = read(tmp_path, "config:\n  kubernetes:context: y\n  aws:region: z\n")
    assert raw == {"kubernetes:context": "y", "aws:region": "z"}


def test_a_date_python_cannot_hold_is_a_clear_error(tmp_path: Path) -> None:
    message = error_of(tmp_path, "config:\n  llmzd:namespace: 0000-01-01\n")
    assert "not usable YAML: year 0 is out of range (a date YAML reads but Python cannot hold" in message


def test_yaml_dates_and_non_text_keys_become_text_as_the_cli_stores_them(tmp_path: Path) -> None:
    raw, _ = read(tmp_path, "config:\n  llmzd:addons: {when: 2024-01-01, 1: x}\n")
    assert raw == {"llmzd:addons": '{"when": "2024-01-01", "1": "x"}'}


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12),
    st.dates(), st.sampled_from(["llmzd:models", "config", "secure", "llmzd:namespace", "gpuBudget"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_scalars, inner, max_size=4)),
    max_leaves=20,
)
_keys = st.one_of(st.sampled_from(["llmzd:models", "llmzd:namespace", "llmzd:addons", "llmzd:gpuBudget",
                                   "llmzd:hfToken", "llmzd:kubeconfig", "llmzd:renderYamlToDirectory",
                                   "llmzd:modls", "llmdz:models", "models", "aws:region"]), _scalars)
_stack_documents = st.one_of(
    _values,
    st.fixed_dictionaries({"config": st.dictionaries(_keys, _values, max_size=5)}),
    st.fixed_dictionaries({"config": _values}),
)


def _documents() -> st.SearchStrategy[str]:
    dumped = _stack_documents.map(lambda value: yaml.safe_dump(value, allow_unicode=True))
    return st.one_of(dumped, st.text(alphabet=string.printable + "\x07é-:[]{}#&*!|>'\"%@`", max_size=80))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_documents())
@example(text="config:\n  llmzd:namespace: 0000-01-01\n")
@example(text="[" * 2000)
def test_no_yaml_document_gives_a_traceback(tmp_path: Path, text: str) -> None:
    """Any YAML document (or text that is not YAML) ends in a result or one of the two config errors."""
    try:
        raw, secret_keys = read(tmp_path, text)
        parse_stack_config(raw, secret_keys)
    except (StackFileError, ConfigError) as error:
        assert str(error)


