"""Read the ``llmzd:*`` config once, validate all of it, and hand typed values to the components."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from llmzd_infra.config.errors import NOT_SET, ConfigError, ConfigIssue
from llmzd_infra.config.models import AddonsConfig, ClusterAccess, ModelDeployment, StackConfig
from llmzd_infra.config.repair import with_required_placeholders, without
from llmzd_infra.config.rules import DNS_LABEL, MAX_LABEL, model_issues, unique_name_issues
from llmzd_infra.config.spelling import case_only_respelling, closest_key, closest_respelling

CONFIG_NAMESPACE = "llmzd"
DEFAULT_HF_TOKEN_KEY = "hfToken"
KUBECONFIG_KEY = "kubeconfig"
_MAX_PRUNE_ROUNDS = 3
_PLAIN_KEYS = ("namespace", "addons", "models", "kubeContext", "renderYamlToDirectory", "gpuBudget")
# Strict: `true` is not a GPU count (pydantic's lax mode would read it as 1).
GpuBudget = Annotated[int, Field(ge=0, strict=True)]


@dataclass(frozen=True)
class ParsedConfig:
    stack: StackConfig
    # model name -> the llmzd:* config key holding its Hugging Face token (a Pulumi secret)
    hf_token_keys: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StackSecrets:
    """Secret config values as Pulumi secret Outputs (or placeholders in the offline render)."""

    hf_tokens: Mapping[str, Any] = field(default_factory=dict)  # config key -> Input[str]
    kubeconfig: Any | None = None


def parse_stack_config(raw: Mapping[str, str], secret_keys: Collection[str] = ()) -> ParsedConfig:
    """Validate raw Pulumi config (``llmzd:key`` -> string, objects JSON-encoded). Raises ConfigError."""
    values = {
        key.split(":", 1)[1]: value for key, value in raw.items() if key.startswith(f"{CONFIG_NAMESPACE}:")
    }
    secret_names = {key.split(":", 1)[1] for key in secret_keys if key.startswith(f"{CONFIG_NAMESPACE}:")}
    issues: list[ConfigIssue] = []

    namespace = values.get("namespace", "llm-serving")
    addons = _parse("addons", values.get("addons"), AddonsConfig, issues, default=AddonsConfig())
    models = _parse_models(values.get("models"), issues)
    gpu_budget = _parse("gpuBudget", values.get("gpuBudget"), GpuBudget, issues, default=None)
    cluster = ClusterAccess(
        kube_context=values.get("kubeContext") or None,
        has_kubeconfig=bool(values.get(KUBECONFIG_KEY)),
        render_yaml_to_directory=values.get("renderYamlToDirectory") or None,
    )
    issues.extend(_path_issues("renderYamlToDirectory", values.get("renderYamlToDirectory")))
    if values.get(KUBECONFIG_KEY) and KUBECONFIG_KEY not in secret_names:
        issues.append(_not_secret(KUBECONFIG_KEY))
    if cluster.render_yaml_to_directory and cluster.has_kubeconfig:
        issues.append(ConfigIssue(
            "llmzd:renderYamlToDirectory", cluster.render_yaml_to_directory,
            "no llmzd:kubeconfig alongside it: the Kubernetes provider rejects both together, since rendering "
            "writes YAML instead of talking to a cluster (`pulumi config rm llmzd:kubeconfig`)",
        ))

    hf_token_keys: dict[str, str] = {}
    for index, model in models:
        token_key = model.hf_token_key or (DEFAULT_HF_TOKEN_KEY if DEFAULT_HF_TOKEN_KEY in values else None)
        if token_key is None:
            continue
        if token_key not in values:
            issues.append(ConfigIssue(
                f"llmzd:models[{index}].hfTokenKey", token_key,
                f"an existing secret key: run `pulumi config set --secret llmzd:{token_key}`"
                " (it prompts for the value)",
            ))
        elif token_key not in secret_names:
            issues.append(_not_secret(token_key))
        else:
            hf_token_keys[model.name] = token_key

    known = set(_PLAIN_KEYS) | {KUBECONFIG_KEY, DEFAULT_HF_TOKEN_KEY} | set(hf_token_keys.values())
    referenced = {model.hf_token_key for _, model in models if model.hf_token_key}
    for name in sorted(set(values) - known - referenced):
        near = closest_key(name, (*_PLAIN_KEYS, KUBECONFIG_KEY, DEFAULT_HF_TOKEN_KEY))
        hint = f" (did you mean 'llmzd:{near}'?)" if near else ""
        issues.append(ConfigIssue(
            _key_path("", (name,)), "(set)",
            f"one of the known keys ({', '.join(sorted((*_PLAIN_KEYS, KUBECONFIG_KEY)))}) or a token key "
            f"named by a model's hfTokenKey{hint}; remove it with `pulumi config rm`",
        ))

    if not DNS_LABEL.match(str(namespace)) or len(str(namespace)) > MAX_LABEL:
        issues.append(ConfigIssue(
            "llmzd:namespace", namespace, f"a DNS-1123 label of at most {MAX_LABEL} chars such as 'llm-serving'"
        ))

    stack: StackConfig | None = None
    if not issues:
        try:
            # By alias, so a violation caught only here still names the camelCase key the user sets.
            stack = StackConfig.model_validate({
                "namespace": namespace, "addons": addons, "models": [m for _, m in models],
                "cluster": cluster, "gpuBudget": gpu_budget,
            })
        except ValidationError as error:
            issues.extend(_pydantic_issues("", error, values))
    if stack is None or issues:
        raise ConfigError(issues)
    return ParsedConfig(stack=stack, hf_token_keys=hf_token_keys)


def _parse_models(text: str | None, issues: list[ConfigIssue]) -> list[tuple[int, ModelDeployment]]:
    if text is None:
        issues.append(ConfigIssue(
            "llmzd:models", None,
            "a list of at least one model object, e.g. "
            "`pulumi config set --path 'llmzd:models[0].name' vllm` (see Pulumi.dev.yaml)",
        ))
        return []
    items = _decode("models", text, issues)
    if items is None:
        return []
    if not isinstance(items, list) or not items:
        issues.append(ConfigIssue("llmzd:models", items, "a non-empty list of model objects"))
        return []
    parsed: list[tuple[int, ModelDeployment]] = []
    named: list[tuple[int, str]] = []
    for index, item in enumerate(items):
        model, reported = _validate_model(index, item, issues)
        if model is None:
            continue
        # Rules on a model repaired with defaults must not repeat a key its shape check already reported.
        issues.extend(issue for issue in model_issues(index, model) if issue.path not in reported)
        parsed.append((index, model))
        if f"llmzd:models[{index}].name" not in reported:
            named.append((index, model.name))
    issues.extend(unique_name_issues(named))
    return parsed


def _validate_model(index: int, item: Any, issues: list[ConfigIssue]) -> tuple[ModelDeployment | None, set[str]]:
    """Validate one model; on shape errors, retry without the bad keys so cross-field rules still run.

    Returns the model (None if it cannot be repaired) and the key paths already reported. A retry only
    adds issues at paths not reported yet: removing a bad required key makes pydantic call it missing,
    which would be a second, misleading line about the same key.
    """
    candidate = item
    reported: set[str] = set()
    for _ in range(_MAX_PRUNE_ROUNDS):
        try:
            return ModelDeployment.model_validate(candidate), reported
        except ValidationError as error:
            found = list(_pydantic_issues(f"models[{index}]", error, candidate))
            issues.extend(issue for issue in found if issue.path not in reported)
            reported.update(issue.path for issue in found)
            pruned = with_required_placeholders(without(candidate, [detail["loc"] for detail in error.errors()]))
            if pruned == candidate:
                return None, reported
            candidate = pruned
    return None, reported


def _parse(key: str, text: str | None, shape: Any, issues: list[ConfigIssue], default: Any) -> Any:
    if text is None:
        return default
    decoded = _decode(key, text, issues)
    if decoded is None:
        return default
    adapter = TypeAdapter(shape)
    try:
        return adapter.validate_python(decoded)
    except ValidationError as error:
        issues.extend(_pydantic_issues(key, error, decoded))
        return default


def _decode(key: str, text: str, issues: list[ConfigIssue]) -> Any:
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError):
        issues.append(ConfigIssue(f"llmzd:{key}", text, "a JSON/YAML value (an object, list or number)"))
        return None


def _pydantic_issues(prefix: str, error: ValidationError, data: Any) -> Iterator[ConfigIssue]:
    prefix_loc = _loc_of(prefix)
    for detail in error.errors():
        path = _key_path(prefix, detail["loc"])
        # For a missing key pydantic's "input" is the enclosing object; show that nothing was given.
        value = NOT_SET if detail["type"] == "missing" else detail.get("input")
        yield ConfigIssue(path, value, _expected(detail, (*prefix_loc, *detail["loc"])))


def _loc_of(prefix: str) -> tuple[int | str, ...]:
    """``models[0]`` -> ``("models", 0)``: where a validated piece sits in the whole stack config."""
    return tuple(int(part) if part.isdigit() else part for part in re.findall(r"[A-Za-z0-9_]+", prefix))


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key_path(prefix: str, loc: tuple[int | str, ...]) -> str:
    """``llmzd:models[0].vllm.dtype``; a user-written key with dots or odd characters is quoted in brackets."""
    path = f"llmzd:{prefix}" if prefix else "llmzd:"
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not _PLAIN_KEY.match(part):
            path += f"[{part!r}]"
        elif path.endswith(":"):
            path += part
        else:
            path += f".{part}"
    return path


def _expected(detail: Mapping[str, Any], stack_loc: tuple[int | str, ...]) -> str:
    kind = detail["type"]
    if kind == "extra_forbidden":
        respelled = case_only_respelling(stack_loc)
        if respelled is not None:
            return f"no such key (did you mean {respelled!r}? keys are case-sensitive)"
        nearest = closest_respelling(stack_loc)
        if nearest is not None:
            return f"no such key (did you mean {nearest!r}?)"
        return "no such key (check its spelling; keys are camelCase, see docs/config.md)"
    if kind == "missing":
        return "this key to be set"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "an object of keys and values (see docs/config.md)"
    message = str(detail["msg"]).removeprefix("Value error, ").removeprefix("Input should be ")
    return message[0].lower() + message[1:] if message else kind


def _path_issues(key: str, text: str | None) -> list[ConfigIssue]:
    """A path must be a string: Pulumi hands every top-level value over as text, so ``2147483648`` or ``true``
    arrives as a string too; a value that reads as a number, boolean, list or object is refused."""
    if not text:
        return []
    try:
        decoded = json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return []
    if isinstance(decoded, str):
        return []
    return [ConfigIssue(
        f"llmzd:{key}", decoded,
        f"a directory path such as 'rendered'; for a directory really named {text!r}, write './{text}'",
    )]


def _not_secret(key: str) -> ConfigIssue:
    return ConfigIssue(
        f"llmzd:{key}", "(plain text)",
        f"a secret: run `pulumi config set --secret llmzd:{key}` (it prompts for the value)",
    )


def raw_config_from_pulumi() -> tuple[dict[str, str], set[str]]:
    """Every ``llmzd:*`` value and which are secret, as the Pulumi language host provides them."""
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    raw = {key: value for key, value in merged.items() if key.startswith(f"{CONFIG_NAMESPACE}:")}
    secret = {key for key in raw if runtime_config.is_config_secret(key)}
    secret |= set(runtime_config.get_config_secret_keys_env())
    return raw, secret


def load_stack_config() -> tuple[ParsedConfig, StackSecrets]:
    """Parse the running stack's config; secret values become Pulumi secret Outputs."""
    import pulumi

    raw, secret_keys = raw_config_from_pulumi()
    parsed = parse_stack_config(raw, secret_keys)
    hf_tokens = {
        key: pulumi.Output.secret(raw[f"{CONFIG_NAMESPACE}:{key}"])
        for key in set(parsed.hf_token_keys.values())
    }
    kubeconfig_raw = raw.get(f"{CONFIG_NAMESPACE}:{KUBECONFIG_KEY}")
    kubeconfig = pulumi.Output.secret(kubeconfig_raw) if kubeconfig_raw else None
    return parsed, StackSecrets(hf_tokens=hf_tokens, kubeconfig=kubeconfig)


__all__ = [
    "CONFIG_NAMESPACE",
    "ParsedConfig",
    "StackSecrets",
    "load_stack_config",
    "parse_stack_config",
    "raw_config_from_pulumi",
]

