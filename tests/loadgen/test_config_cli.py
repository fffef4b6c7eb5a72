"""Configuration, prompt scenarios, CLI parsing and user-error handling (no server needed)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from loadgen.api import Endpoint, build_payload, join_url
from loadgen.cli import build_parser, config_from_args, main
from loadgen.config import ConfigError, LoadConfig
from loadgen.prompts import PromptSchedule, available_scenarios, load_prompts, parse_prompts


def parse(*argv: str) -> LoadConfig:
    return config_from_args(build_parser().parse_args(["run", *argv]))


def test_defaults_are_four_streams_for_thirty_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOAD_CONCURRENCY", raising=False)
    monkeypatch.delenv("LOAD_DURATION", raising=False)
    config = parse()
    assert (config.concurrency, config.duration, config.requests) == (4, 30.0, None)
    assert config.output == "/tmp/stream_load_results.json"
    assert config.url == "http://127.0.0.1:8000" and config.endpoint is Endpoint.COMPLETIONS
    assert config.rate is None and config.model is None


def test_env_overrides_defaults_and_flags_override_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOAD_CONCURRENCY", "8")
    monkeypatch.setenv("LOAD_DURATION", "60")
    assert (parse().concurrency, parse().duration) == (8, 60.0)
    config = parse("--concurrency", "2", "--duration", "5")
    assert (config.concurrency, config.duration) == (2, 5.0)


def test_requests_alone_is_not_time_limited_but_both_combine() -> None:
    assert parse("--requests", "10").duration is None
    config = parse("--requests", "10", "--duration", "3")
    assert (config.requests, config.duration) == (10, 3.0)


def test_all_flags_reach_the_config() -> None:
    config = parse(
        "--url",
        "https://h/api/v1/proxy/",
        "--model",
        "m",
        "--endpoint",
        "chat",
        "--concurrency",
        "3",
        "--rate",
        "2.5",
        "--duration",
        "7",
        "--max-tokens",
        "9",
        "--scenario",
        "long",
        "--timeout",
        "4",
        "--warmup",
        "1",
        "--seed",
        "42",
        "--output",
        "/tmp/x.json",
    )
    assert config.to_dict() == {
        "url": "https://h/api/v1/proxy/",
        "model": "m",
        "endpoint": "chat",
        "concurrency": 3,
        "rate": 2.5,
        "duration": 7.0,
        "requests": None,
        "max_tokens": 9,
        "scenario": "long",
        "timeout": 4.0,
        "warmup": 1.0,
        "seed": 42,
        "output": "/tmp/x.json",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--concurrency", "0"], "--concurrency must be at least 1"),
        (["--duration", "-1"], "--duration must be a positive number"),
        (["--rate", "0"], "--rate must be a positive number"),
        (["--max-tokens", "0"], "--max-tokens must be at least 1"),
        (["--url", "127.0.0.1:8000"], "must start with http:// or https://"),
        (["--scenario", "nope"], "neither a file nor a shipped scenario (shipped: chat, long, short)"),
    ],
)
def test_bad_settings_exit_2_with_one_clear_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--output", "/dev/null", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_env_value_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOAD_CONCURRENCY", "four")
    assert main(["run"]) == 2
    assert "LOAD_CONCURRENCY='four' is not a valid int" in capsys.readouterr().err


def test_unknown_flag_is_argparse_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--bogus"])
    assert exit_info.value.code == 2


def test_shipped_scenarios_load() -> None:
    assert set(available_scenarios()) == {"short", "long", "chat"}
    for name in available_scenarios():
        prompts = load_prompts(name)
        assert prompts and all(p.strip() == p and p for p in prompts)
    assert not any(p.startswith("#") for p in load_prompts("short"))


def test_scenario_file_formats(tmp_path: Path) -> None:
    text = tmp_path / "p.txt"
    text.write_text("# comment\n\n first \nsecond\n")
    assert load_prompts(str(text)) == ["first", "second"]
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"prompt": "a"}\n"b"\n\n')
    assert load_prompts(str(jsonl)) == ["a", "b"]
    with pytest.raises(ConfigError, match=r"p.jsonl:2: not valid JSON"):
        parse_prompts('{"prompt": "a"}\n{oops', jsonl=True, source="p.jsonl")
    with pytest.raises(ConfigError, match=r"x:1: expected"):
        parse_prompts('{"text": "a"}', jsonl=True, source="x")
    with pytest.raises(ConfigError, match="no prompts found"):
        parse_prompts("# only a comment\n", jsonl=False, source="empty.txt")


def test_prompt_schedule_is_reproducible_by_seed_and_index() -> None:
    prompts = [f"p{i}" for i in range(10)]
    first = [PromptSchedule(prompts, 1).prompt_for(i) for i in range(20)]
    assert first == [PromptSchedule(prompts, 1).prompt_for(i) for i in range(20)]
    assert first != [PromptSchedule(prompts, 2).prompt_for(i) for i in range(20)]
    assert sorted(first[:10]) == sorted(prompts) and first[10:] == first[:10]


def test_payloads_and_urls() -> None:
    completion = build_payload(Endpoint.COMPLETIONS, "m", "hi", 5, stream=True)
    assert completion == {
        "model": "m",
        "max_tokens": 5,
        "stream": True,
        "prompt": "hi",
        "stream_options": {"include_usage": True},
    }
    chat = build_payload(Endpoint.CHAT, "m", "hi", 5, stream=False)
    assert chat == {
        "model": "m",
        "max_tokens": 5,
        "stream": False,
        "messages": [{"role": "user", "content": "hi"}],
    }
    proxy = "https://k8s:6443/api/v1/namespaces/ns/services/vllm-preview:8000/proxy/"
    assert join_url(proxy, Endpoint.CHAT.path) == proxy.rstrip("/") + "/v1/chat/completions"


def test_verify_reads_a_report_and_rejects_non_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hello": 1}))
    assert main(["verify", "--report", str(bad)]) == 2
    assert "is not a loadgen report" in capsys.readouterr().err
    assert main(["verify", "--report", str(tmp_path / "missing.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_plot_rejects_malformed_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", str(tmp_path / "r.json"), "--event", "promote"]) == 2
    assert "must look like SECONDS=LABEL" in capsys.readouterr().err


def test_split_config_shares_add_up() -> None:
    from loadgen.multiproc import split_config

    config = LoadConfig(url="http://127.0.0.1:1", concurrency=10, rate=20.0, requests=7, seed=5)
    shares = split_config(config, 3)
    assert [s.concurrency for s in shares] == [4, 3, 3]
    assert [s.requests for s in shares] == [3, 2, 2]
    assert sum(s.rate or 0 for s in shares) == pytest.approx(20.0)
    assert [s.seed for s in shares] == [5, 6, 7]
    assert [s.concurrency for s in split_config(replace(config, concurrency=2), 4)] == [1, 1]
    assert [s.requests for s in split_config(replace(config, requests=1, rate=None), 3)] == [1]
