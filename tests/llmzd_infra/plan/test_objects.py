from __future__ import annotations

from typing import Any

from llmzd_infra.plan.objects import CONTENT_NAMED_REASON, Change, ObjectChange, classify_objects
from llmzd_infra.plan.render_dir import ObjectRef
from tests.llmzd_infra.policies import k8s_objects as k8s


def _index(*objects: dict[str, Any]) -> dict[ObjectRef, dict[str, Any]]:
    return {
        ObjectRef(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects
    }


def _only(changes: list[ObjectChange]) -> ObjectChange:
    assert len(changes) == 1, changes
    return changes[0]


def test_identical_objects_are_not_listed() -> None:
    assert classify_objects(_index(k8s.service()), _index(k8s.service())) == []


def test_added_and_deleted() -> None:
    changes = classify_objects(_index(k8s.config_map("old-config")), _index(k8s.config_map("new-config")))
    assert [(c.change, c.ref.name) for c in changes] == [
        (Change.ADDED, "new-config"),
        (Change.DELETED, "old-config"),
    ]


def test_changed_in_place_carries_field_diff() -> None:
    old, new = k8s.service(port=8000), k8s.service(port=8080)
    change = _only(classify_objects(_index(old), _index(new)))
    assert change.change is Change.CHANGED
    assert [(f.path, f.old, f.new) for f in change.fields] == [("spec.ports[http].port", 8000, 8080)]


def test_namespace_move_is_a_replacement() -> None:
    change = _only(classify_objects(_index(k8s.service(namespace="a")), _index(k8s.service(namespace="b"))))
    assert change.change is Change.REPLACED
    assert change.previous == ObjectRef("Service", "a", "vllm-stable")
    assert change.reasons == ("namespace a → b",)


def test_rename_with_same_identity_labels_is_a_replacement() -> None:
    old = k8s.service(name="vllm-stable", role="stable")
    new = k8s.service(name="vllm-live", role="stable")
    change = _only(classify_objects(_index(old), _index(new)))
    assert change.change is Change.REPLACED and change.reasons == ("name vllm-stable → vllm-live",)


def test_ambiguous_renames_stay_added_and_deleted() -> None:
    base = _index(k8s.service(name="a", role="x"), k8s.service(name="b", role="x"))
    head = _index(k8s.service(name="c", role="x"), k8s.service(name="d", role="x"))
    assert sorted(c.change for c in classify_objects(base, head)) == [Change.ADDED] * 2 + [Change.DELETED] * 2


def test_service_cluster_ip_change_is_a_replacement() -> None:
    old, new = k8s.service(), k8s.service()
    old["spec"]["clusterIP"] = "10.0.0.10"
    new["spec"]["clusterIP"] = "10.0.0.11"
    change = _only(classify_objects(_index(old), _index(new)))
    assert change.change is Change.REPLACED
    assert "spec.clusterIP" in change.reasons[0]


def test_pdb_selector_is_immutable_only_in_policy_v1beta1() -> None:
    for api_version, expected in (("policy/v1beta1", Change.REPLACED), ("policy/v1", Change.CHANGED)):
        old = k8s.disruption_budget(api_version=api_version)
        new = k8s.disruption_budget(api_version=api_version)
        new["spec"]["selector"]["matchLabels"]["tier"] = "gpu"
        assert _only(classify_objects(_index(old), _index(new))).change is expected, api_version


def test_immutable_config_map_data_change_is_a_replacement() -> None:
    old, new = k8s.config_map(A="1"), k8s.config_map(A="2")
    old["immutable"] = new["immutable"] = True
    change = _only(classify_objects(_index(old), _index(new)))
    assert change.change is Change.REPLACED and change.reasons == ("data changed in an immutable ConfigMap",)
    del old["immutable"], new["immutable"]
    assert _only(classify_objects(_index(old), _index(new))).change is Change.CHANGED


def test_changes_are_ordered_by_kind_of_change() -> None:
    base = _index(k8s.service(port=1), k8s.config_map("gone"), k8s.service(name="moved", namespace="a", role="m"))
    head = _index(k8s.service(port=2), k8s.config_map("new"), k8s.service(name="moved", namespace="b", role="m"))
    assert [c.change for c in classify_objects(base, head)] == [
        Change.ADDED, Change.CHANGED, Change.REPLACED, Change.DELETED
    ]


def test_content_named_config_map_change_is_a_create_before_delete_replacement() -> None:
    old = k8s.content_named_config_map("vllm", "aaaaaaaaaaaa", A="1")
    new = k8s.content_named_config_map("vllm", "bbbbbbbbbbbb", A="2")
    change = _only(classify_objects(_index(old), _index(new)))
    assert change.change is Change.REPLACED
    assert (change.previous.name, change.ref.name) == ("vllm-config-aaaaaaaaaaaa", "vllm-config-bbbbbbbbbbbb")
    assert change.reasons == (CONTENT_NAMED_REASON,)
    assert {f.path for f in change.fields} >= {"data.A", "metadata.name"}


def test_moving_from_the_fixed_name_to_a_content_named_config_map_is_the_same_replacement() -> None:
    # The upgrade of a stack deployed before the ConfigMaps were content-named.
    old = k8s.config_map("vllm-config")
    old["metadata"]["labels"]["app.kubernetes.io/component"] = "config"
    new = k8s.content_named_config_map("vllm", "aaaaaaaaaaaa")
    change = _only(classify_objects(_index(old), _index(new)))
    assert change.change is Change.REPLACED and change.reasons == (CONTENT_NAMED_REASON,)
    assert change.previous == ObjectRef("ConfigMap", "llm-serving", "vllm-config")


def test_a_renamed_config_map_that_is_not_content_named_keeps_the_rename_reason() -> None:
    old, new = k8s.config_map("vllm-config"), k8s.config_map("vllm-config")
    new["metadata"]["name"] = "vllm-settings"
    change = _only(classify_objects(_index(old), _index(new)))
    assert change.change is Change.REPLACED and change.reasons == ("name vllm-config → vllm-settings",)
