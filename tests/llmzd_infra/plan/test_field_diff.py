from __future__ import annotations

from llmzd_infra.plan.field_diff import MISSING, FieldChange, changes_between, under


def test_named_list_items_are_matched_by_name() -> None:
    old = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
    new = {"env": [{"name": "NEW", "value": "0"}, {"name": "A", "value": "1"}, {"name": "B", "value": "3"}]}
    assert changes_between(old, new) == [
        FieldChange("env[B].value", "2", "3"),
        FieldChange("env[NEW]", MISSING, {"name": "NEW", "value": "0"}),
    ]


def test_keys_with_dots_or_slashes_are_quoted() -> None:
    changes = changes_between({"a": {"llmzd.io/revision": "1"}}, {"a": {"llmzd.io/revision": "2"}})
    assert changes == [FieldChange('a["llmzd.io/revision"]', "1", "2")]


def test_plain_lists_are_compared_whole() -> None:
    assert changes_between({"args": ["a", "b"]}, {"args": ["a", "c"]}) == [
        FieldChange("args", ["a", "b"], ["a", "c"])
    ]


def test_unnamed_mapping_lists_of_equal_length_diff_by_index() -> None:
    old = {"rules": [{"x": 1}, {"x": 2}]}
    new = {"rules": [{"x": 1}, {"x": 5}]}
    assert changes_between(old, new) == [FieldChange("rules[1].x", 2, 5)]


def test_added_and_removed_keys() -> None:
    changes = changes_between({"a": 1}, {"b": 2})
    assert changes == [FieldChange("a", 1, MISSING), FieldChange("b", MISSING, 2)]
    assert changes[0].removed and changes[1].added


def test_equal_values_have_no_changes() -> None:
    obj = {"spec": {"containers": [{"name": "vllm", "image": "x"}]}}
    assert changes_between(obj, {"spec": {"containers": [{"name": "vllm", "image": "x"}]}}) == []


def test_under_respects_path_boundaries() -> None:
    assert under("spec.selector", "spec.selector")
    assert under("spec.selector.matchLabels.app", "spec.selector")
    assert under("spec.ports[http].port", "spec.ports")
    assert not under("spec.selectorX", "spec.selector")
