"""Rules that relate several fields; each violation names the one key a user has to change."""

from __future__ import annotations

import re
from collections.abc import Iterator

from llmzd_infra.config.errors import ConfigIssue
from llmzd_infra.config.image_reference import repository_problem, tag_problem
from llmzd_infra.config.models import ModelDeployment
from llmzd_infra.config.pod_rules import pod_spec_issues
from llmzd_infra.config.sizing import size_class_for
from llmzd_infra.config.vllm_flags import credential_flag_uses, managed_flag_uses
from llmzd_infra.credentials import credential_kind

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")  # \Z: "$" would accept a trailing newline
MAX_LABEL = 63
# "<name>-preview" must itself stay a DNS-1123 label (63 chars).
MAX_MODEL_NAME = MAX_LABEL - len("-preview")


def model_issues(index: int, model: ModelDeployment) -> Iterator[ConfigIssue]:
    key = f"llmzd:models[{index}]"
    if not DNS_LABEL.match(model.name) or len(model.name) > MAX_MODEL_NAME:
        yield ConfigIssue(
            f"{key}.name", model.name,
            f"a DNS-1123 label of at most {MAX_MODEL_NAME} chars: lowercase letters, digits and '-', "
            "starting and ending with a letter or digit",
        )
    yield from _image_issues(key, model)
    yield from pod_spec_issues(key, model)
    drain = model.drain
    needed = drain.pre_stop_seconds + drain.shutdown_margin_seconds
    if drain.termination_grace_period_seconds <= needed:
        yield ConfigIssue(
            f"{key}.drain.terminationGracePeriodSeconds", drain.termination_grace_period_seconds,
            f"more than drain.preStopSeconds + drain.shutdownMarginSeconds "
            f"({drain.pre_stop_seconds} + {drain.shutdown_margin_seconds} = {needed})",
        )
    if model.blue_green.scale_down_delay_seconds < drain.pre_stop_seconds:
        yield ConfigIssue(
            f"{key}.blueGreen.scaleDownDelaySeconds", model.blue_green.scale_down_delay_seconds,
            f"at least drain.preStopSeconds ({drain.pre_stop_seconds}) so old pods outlive their streams",
        )
    if model.gpus_per_replica < model.vllm.tensor_parallel_size:
        yield ConfigIssue(
            f"{key}.gpusPerReplica", model.gpus_per_replica,
            f"at least vllm.tensorParallelSize ({model.vllm.tensor_parallel_size})",
        )
    preview = model.blue_green.preview_replica_count
    if preview is not None and preview > model.replicas:
        yield ConfigIssue(
            f"{key}.blueGreen.previewReplicaCount", preview, f"at most replicas ({model.replicas})"
        )
    probes = model.probes
    if probes.model_size is not None and probes.parameter_count_billions is not None:
        implied = size_class_for(probes.parameter_count_billions)
        if implied != probes.model_size:
            yield ConfigIssue(
                f"{key}.probes.modelSize", probes.model_size,
                f"'{implied}' to match probes.parameterCountBillions ({probes.parameter_count_billions:g}B), "
                "or only one of the two",
            )
    cache = model.model_cache
    if cache.type == "pvc" and not cache.claim_name:
        yield ConfigIssue(
            f"{key}.modelCache.claimName", cache.claim_name,
            "the name of an existing PersistentVolumeClaim when modelCache.type is 'pvc'",
        )
    yield from _extra_arg_issues(key, model)


def _extra_arg_issues(key: str, model: ModelDeployment) -> Iterator[ConfigIssue]:
    args = model.vllm.extra_args
    for use in managed_flag_uses(args):
        yield ConfigIssue(
            f"{key}.vllm.extraArgs[{use.index}]", args[use.index],
            f"a flag llmzd does not manage; {args[use.index].split('=', 1)[0]} is vLLM's {use.flag}, which llmzd "
            "sets from its own config key",
        )
    token_key = model.hf_token_key or "hfToken"
    for use in credential_flag_uses(args):
        where = (
            f"keep the Hugging Face token in a Pulumi secret: `pulumi config set --secret llmzd:{token_key}` "
            "(it reaches vLLM as HF_TOKEN from a Kubernetes Secret)"
            if use.flag == "--hf-token" else
            "no credential on the command line: it would sit in plain text in the Rollout's args"
        )
        yield ConfigIssue(f"{key}.vllm.extraArgs[{use.index}]", args[use.index], f"no {use.flag} value here; {where}")
    for index, arg in enumerate(args):
        kind = credential_kind(arg)
        if kind:
            yield ConfigIssue(
                f"{key}.vllm.extraArgs[{index}]", arg,
                f"no credential ({kind}) in extraArgs: they are plain text in the Rollout; a Hugging Face token "
                f"goes in `pulumi config set --secret llmzd:{token_key}`",
            )
    plain = {"model.id": model.model.id, "model.revision": model.model.revision, "model.servedName":
             model.model.served_name}
    for name, value in plain.items():
        kind = credential_kind(value or "")
        if kind:
            yield ConfigIssue(
                f"{key}.{name}", value,
                f"no credential ({kind}): this value is plain text in the ConfigMap and the pod's environment",
            )

def _image_issues(key: str, model: ModelDeployment) -> Iterator[ConfigIssue]:
    image = model.image
    problem = repository_problem(image.repository)
    if problem:
        yield ConfigIssue(
            f"{key}.image.repository", image.repository,
            f"an image repository without a tag or digest, such as 'vllm/vllm-openai' or "
            f"'registry.example.com:5000/team/vllm' ({problem}: lowercase path components of letters and digits "
            "joined by '.', '_' or '-'; put the version in image.tag)",
        )
    if tag_problem(image.tag):
        yield ConfigIssue(
            f"{key}.image.tag", image.tag,
            "a pinned image tag such as 'v0.11.0' (ASCII letters, digits, '_', '.', '-', at most 128, not "
            "'latest') or a 'sha256:<64 lowercase hex>' digest",
        )


def unique_name_issues(names: list[tuple[int, str]]) -> Iterator[ConfigIssue]:
    seen: dict[str, int] = {}
    for index, name in names:
        if name in seen:
            yield ConfigIssue(
                f"llmzd:models[{index}].name", name,
                f"a name unique across models (models[{seen[name]}] already uses it)",
            )
        else:
            seen[name] = index
