"""Run guidellm (installed in its own venv) offline against a local OpenAI-compatible server, and read its report.

guidellm 0.8 needs a Hugging Face tokenizer even for synthetic prompts (it sizes each prompt by encoding Faker
text and decoding the first N ids). With no internet the hub cannot serve one, so a tiny byte-level tokenizer
(one token per byte, no merges) is generated at run time into a temporary directory: nothing binary is
committed, and prompt sizes stay meaningful (N tokens = N bytes of text).

The run is what the load generator does in loadgen_bench.py: a closed loop of N concurrent streams
(`--profile kind=concurrent,streams=N`) for a fixed measured duration, streaming /v1/completions with 16 output
tokens. guidellm starts its worker processes before the clock starts (its start-up of ~10-20 s is not counted
in its own rates), so its numbers are its steady-state ceiling.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GUIDELLM_VENV = Path(os.environ.get("GUIDELLM_VENV", "/tmp/guidellm-venv"))
PROMPT_TOKENS = 32  # bytes of synthetic text per prompt with the byte-level tokenizer
PROBE_TIMEOUT_S = 180.0  # importing torch + transformers on a busy 2-CPU machine takes tens of seconds

# Runs inside the guidellm venv (the project venv has neither `tokenizers` nor `transformers`).
# The vocabulary is the 256 printable stand-ins ByteLevel uses for bytes, so any text encodes and decodes
# losslessly; an <eos> token is declared because transformers warns (and some paths fail) without one.
TOKENIZER_BUILDER = """
import sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

vocab = {symbol: index for index, symbol in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
vocab["<eos>"] = len(vocab)
tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tokenizer.decoder = decoders.ByteLevel()
PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<eos>").save_pretrained(sys.argv[1])
"""


@dataclass
class GuidellmReport:
    """What one guidellm benchmark reported, in the same units as loadgen's summary (seconds, per second)."""

    completed_per_s: float
    output_tokens_per_s: float
    successful: int
    errored: int
    incomplete: int
    ttft_p50_s: float | None
    ttft_p90_s: float | None
    ttft_p99_s: float | None
    mean_in_flight: float  # streams actually in flight on average; below the asked N when the client lags
    worker_processes: int
    window_start: float  # epoch seconds of guidellm's measured window, to line CPU samples up with it
    window_end: float


def offline_env(worker_processes: int | None = None) -> dict[str, str]:
    # Offline flags make transformers/datasets fail fast instead of retrying the hub.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    if worker_processes is not None:
        env["GUIDELLM__MAX_WORKER_PROCESSES"] = str(worker_processes)  # guidellm's default is 10
    return env


def unavailable_reason(venv: Path = GUIDELLM_VENV) -> str | None:
    """Why guidellm cannot run here, or None if it can."""
    python = venv / "bin" / "python"
    if not python.exists():
        return f"no guidellm venv at {venv} (set GUIDELLM_VENV)"
    probe = subprocess.run(
        [str(python), "-c", "import guidellm.data.loaders, tokenizers, transformers"],
        capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False, env=offline_env(),
    )  # fmt: skip
    if probe.returncode != 0:
        last_line = (probe.stderr.strip().splitlines() or ["unknown error"])[-1]
        return (
            f"guidellm in {venv} cannot import its data loader or tokenizer libraries ({last_line}); guidellm 0.8 "
            "requires torch, and torch from PyPI on this machine resolves to the CUDA build (>1 GB of "
            "nvidia-* wheels), which this benchmark must not install"
        )
    return None


def build_tokenizer(directory: Path, venv: Path = GUIDELLM_VENV) -> str | None:
    """Write the tiny tokenizer into `directory`; returns why it failed, or None."""
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", TOKENIZER_BUILDER, str(directory)],
        capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False, env=offline_env(),
    )  # fmt: skip
    if done.returncode != 0 or not (directory / "tokenizer.json").exists():
        last_line = (done.stderr.strip().splitlines() or ["no tokenizer.json written"])[-1]
        return f"could not build a local tokenizer for guidellm ({last_line})"
    return None


def command(
    url: str, concurrency: int, duration: float, output_tokens: int, tokenizer_dir: Path, report_path: Path,
    venv: Path = GUIDELLM_VENV,
) -> list[str]:  # fmt: skip
    return [
        str(venv / "bin" / "guidellm"), "run",
        # /v1/completions with streaming (guidellm's default is chat) to match loadgen's default endpoint.
        "--backend", f"kind=openai_http,target={url},request_format=/v1/completions",
        "--profile", f"kind=concurrent,streams={concurrency}",
        "--constraint", f"kind=max_duration,seconds={duration:g}",
        "--tokenizer", f"kind=huggingface_auto,model={tokenizer_dir}",
        # output_tokens sets max_tokens (with ignore_eos), as loadgen's --max-tokens does.
        "--data", f"kind=synthetic_text,prompt_tokens={PROMPT_TOKENS},output_tokens={output_tokens}",
        # sample_size=0 drops per-request prompt/output text from the report (stats are kept for every request),
        # so neither side pays for a multi-MB JSON it does not need.
        "--metrics", "kind=generative,sample_size=0",
        "--output", f"kind=json,path={report_path}",
        "--disable-console",
    ]  # fmt: skip


def _successful(metric: dict[str, Any]) -> dict[str, Any]:
    return dict(metric["successful"])


def parse_report(report_path: Path) -> GuidellmReport:
    benchmark = json.loads(report_path.read_text())["benchmarks"][0]
    metrics = benchmark["metrics"]
    totals = metrics["request_totals"]
    ttft = _successful(metrics["time_to_first_token_ms"]) if totals["successful"] else None

    def seconds(percentile: str) -> float | None:
        return None if ttft is None else float(ttft["percentiles"][percentile]) / 1000

    return GuidellmReport(
        # guidellm's own rates over its measured window (successful requests / window length).
        completed_per_s=float(_successful(metrics["requests_per_second"])["mean"]),
        output_tokens_per_s=float(_successful(metrics["output_tokens_per_second"])["mean"]),
        successful=int(totals["successful"]),
        errored=int(totals["errored"]),
        incomplete=int(totals["incomplete"]),
        ttft_p50_s=seconds("p50"),
        ttft_p90_s=seconds("p90"),
        ttft_p99_s=seconds("p99"),
        mean_in_flight=float(_successful(metrics["request_concurrency"])["mean"]),
        worker_processes=int(benchmark["scheduler_state"]["num_processes"]),
        window_start=float(benchmark["start_time"]),
        window_end=float(benchmark["end_time"]),
    )
