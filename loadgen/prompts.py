"""Prompt scenarios: plain text (one prompt per line) or JSONL ({"prompt": ...} or a JSON string a line)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from loadgen.config import ConfigError

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


def available_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.iterdir() if p.suffix in {".txt", ".jsonl"})


def resolve_scenario(name_or_path: str) -> Path:
    """A scenario is a file path, or the name of a file in loadgen/scenarios/ (suffix optional)."""
    direct = Path(name_or_path).expanduser()
    if direct.is_file():
        return direct
    for candidate in (
        SCENARIO_DIR / name_or_path,
        SCENARIO_DIR / f"{name_or_path}.txt",
        SCENARIO_DIR / f"{name_or_path}.jsonl",
    ):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"--scenario {name_or_path!r} is neither a file nor a shipped scenario "
        f"(shipped: {', '.join(available_scenarios())})"
    )


def parse_prompts(text: str, *, jsonl: bool, source: str) -> list[str]:
    prompts: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or (not jsonl and line.startswith("#")):
            continue
        if not jsonl:
            prompts.append(line)
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise ConfigError(
                f"{source}:{number}: not valid JSON ({exc.msg}); each line must be one JSON value"
            ) from None
        prompt = item.get("prompt") if isinstance(item, dict) else item
        if not isinstance(prompt, str) or not prompt:
            raise ConfigError(f'{source}:{number}: expected {{"prompt": "..."}} or a JSON string')
        prompts.append(prompt)
    if not prompts:
        raise ConfigError(f"{source}: no prompts found (one prompt per line, or JSONL with a 'prompt' field)")
    return prompts


def load_prompts(name_or_path: str) -> list[str]:
    path = resolve_scenario(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read scenario {path}: {exc}") from None
    return parse_prompts(text, jsonl=path.suffix == ".jsonl", source=str(path))


class PromptSchedule:
    """Request i always gets the same prompt for a given seed, whatever order the workers run in."""

    def __init__(self, prompts: list[str], seed: int) -> None:
        self._order = list(prompts)
        random.Random(seed).shuffle(self._order)

    def prompt_for(self, index: int) -> str:
        return self._order[index % len(self._order)]
