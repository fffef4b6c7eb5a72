"""How vLLM reads ``vllm.extraArgs``: which spellings reach a flag llmzd sets itself, and which carry credentials.

From vLLM 0.11.0 (the default image tag v0.11.0), vllm/engine/arg_utils.py, vllm/entrypoints/openai/cli_args.py
and vllm/utils/__init__.py (FlexibleArgumentParser):
- ``--tensor-parallel-size`` also answers to ``-tp``; no other flag llmzd manages has a short alias;
- underscores in a long flag name are read as dashes (``--tensor_parallel_size``), and ``--flag=value`` works;
- the parser keeps argparse's ``allow_abbrev``, so an unambiguous prefix (``--tensor-parallel``) is the flag;
- ``--hf-token VALUE`` and ``--api-key VALUE`` put credentials on the command line (``--hf-token`` alone only
  tells vLLM to use the token from the environment).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

MANAGED_FLAGS = (
    "--port", "--host", "--model", "--served-model-name", "--revision", "--dtype", "--max-model-len",
    "--gpu-memory-utilization", "--tensor-parallel-size",
)
SHORT_ALIASES = {"-tp": "--tensor-parallel-size"}
CREDENTIAL_FLAGS = ("--hf-token", "--api-key")


@dataclass(frozen=True)
class FlagUse:
    index: int
    flag: str  # the canonical flag vLLM reads
    carries_value: bool


def canonical_flag(word: str, known: Sequence[str]) -> str | None:
    """The flag of ``known`` that vLLM would read ``word`` as, or None."""
    if not word.startswith("-") or word == "-":
        return None
    name = word.split("=", 1)[0]
    if not name.startswith("--"):
        return SHORT_ALIASES.get(name) if SHORT_ALIASES.get(name) in known else None
    head, dot, rest = name[2:].partition(".")
    name = "--" + head.replace("_", "-") + dot + rest
    if name in known:
        return name
    # argparse abbreviation: a prefix of a managed flag reads as that flag (or fails as ambiguous).
    prefixed = [flag for flag in known if flag.startswith(name) and len(name) > 2]
    return prefixed[0] if len(prefixed) == 1 else None


def flag_uses(args: Sequence[str], known: Sequence[str]) -> Iterator[FlagUse]:
    for index, word in enumerate(args):
        flag = canonical_flag(word, known)
        if flag is None:
            continue
        following = args[index + 1] if index + 1 < len(args) else None
        carries = "=" in word or (following is not None and not following.startswith("-"))
        yield FlagUse(index, flag, carries)


def managed_flag_uses(args: Sequence[str]) -> Iterator[FlagUse]:
    return flag_uses(args, MANAGED_FLAGS)


def credential_flag_uses(args: Sequence[str]) -> Iterator[FlagUse]:
    return (use for use in flag_uses(args, CREDENTIAL_FLAGS) if use.carries_value)
