"""`python -m loadgen run|verify|smoke|plot`: argument parsing, signals, printing and exit codes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import httpx

from loadgen.api import (
    Endpoint,
    ServerError,
    describe_transport_error,
    excerpt,
    first_model_id,
    join_url,
    redacted_url,
)
from loadgen.config import (
    DEFAULT_CONCURRENCY,
    DEFAULT_DURATION_S,
    DEFAULT_OUTPUT,
    DEFAULT_SCENARIO,
    ConfigError,
    LoadConfig,
    env_number,
)
from loadgen.eventloop import run_async
from loadgen.multiproc import run_load_processes
from loadgen.progress import show_progress
from loadgen.prompts import load_prompts
from loadgen.report import format_summary, read_report, write_report
from loadgen.runner import LiveCounters, LoadReport, run_load
from loadgen.smoke import SmokeReport, run_smoke
from loadgen.verify import Thresholds, evaluate

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2  # bad arguments, or the server could not be reached before any load ran
EXIT_INTERRUPTED = 130
DEFAULT_URL = "http://127.0.0.1:8000"


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _add_load_arguments(parser: argparse.ArgumentParser) -> None:
    concurrency = int(env_number("LOAD_CONCURRENCY", int, DEFAULT_CONCURRENCY))
    duration = env_number("LOAD_DURATION", float, DEFAULT_DURATION_S)
    parser.add_argument("--url", default=DEFAULT_URL, help="server base URL (default: %(default)s)")
    parser.add_argument("--model", help="model id (default: the first id from /v1/models)")
    parser.add_argument(
        "--endpoint", choices=[e.value for e in Endpoint], default=Endpoint.COMPLETIONS.value,
        help="completions (/v1/completions) or chat (/v1/chat/completions) (default: %(default)s)",
    )
    parser.add_argument(
        "--concurrency",
        type=_whole_number,
        default=concurrency,
        help="closed loop: number of workers; open loop: cap on in-flight requests "
        f"(default: {concurrency}; env LOAD_CONCURRENCY)",
    )
    parser.add_argument(
        "--rate", type=float, help="open loop: Poisson arrivals per second (default: closed loop)"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help=f"seconds of measured load (default: {duration:g}; env LOAD_DURATION; "
        "when only --requests is given the run is not time-limited)",
    )
    parser.add_argument(
        "--requests", type=_whole_number,
        help="stop after this many measured requests (default: no limit; with --duration, whichever comes first)",
    )
    parser.add_argument(
        "--max-tokens", type=_whole_number, default=64, help="max_tokens of every request (default: %(default)s)"
    )
    parser.add_argument(
        "--scenario",
        default=DEFAULT_SCENARIO,
        help="prompt file, or a name shipped in loadgen/scenarios/: short, long, chat (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0,
        help="per-request deadline in seconds: connect, headers and the whole stream; verify's pre-flight "
        "/health check uses it too (default: %(default)g)",
    )
    parser.add_argument(
        "--warmup", type=float, default=0.0,
        help="seconds of unmeasured load before measuring (default: %(default)g)",
    )
    parser.add_argument(
        "--seed", type=int, default=0,
        help="fixes prompt order and open-loop arrival times (default: %(default)s)",
    )
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="JSON report path (default: %(default)s)")
    parser.add_argument(
        "--processes",
        type=_whole_number,
        default=1,
        help="spread the load over this many client processes; one asyncio process tops out at one core "
        "(default: %(default)s)",
    )
    parser.set_defaults(default_duration=duration)


def _add_threshold_arguments(parser: argparse.ArgumentParser) -> None:
    env = Thresholds.from_env()
    parser.add_argument(
        "--max-error-rate",
        type=float,
        default=env.max_error_rate,
        help=f"highest failed/requests that passes (default: {env.max_error_rate:g}; env MAX_ERROR_RATE)",
    )
    parser.add_argument(
        "--max-5xx-rate",
        type=float,
        default=env.max_5xx_rate,
        help=f"highest HTTP 5xx/requests that passes (default: {env.max_5xx_rate:g}; env MAX_5XX_RATE)",
    )
    parser.add_argument(
        "--min-stream-completion",
        type=float,
        default=env.min_stream_completion,
        help=f"lowest completed/requests that passes (default: {env.min_stream_completion:g}; "
        "env MIN_STREAM_COMPLETION)",
    )


EXIT_CODES = {
    "run": "exit codes: 0 run finished and report written; 2 usage error or no server before any load; "
    "130 interrupted (partial report written)",
    "verify": "exit codes: 0 every criterion met; 1 a criterion, the pre-flight, a smoke check failed or the run "
    "was interrupted; 2 usage error or no server before any load",
    "smoke": "exit codes: 0 every check passed; 1 a check failed (one-line reason); 2 usage error",
    "plot": "exit codes: 0 PNG written; 2 usage error or unreadable report",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadgen",
        description="Streaming load generator, no-downtime verifier and smoke checks for vLLM servers.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_package_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="stream load at a server and write a JSON report",
        description="Stream completions at a server, record every request and write a JSON report.",
        epilog=EXIT_CODES["run"],
    )
    _add_load_arguments(run)

    verify = commands.add_parser(
        "verify", help="smoke + load (or an existing report) judged against thresholds",
        description="Pre-flight /health, smoke checks and load (or an existing report), judged against the "
        "no-downtime thresholds.",
        epilog=EXIT_CODES["verify"],
    )
    _add_load_arguments(verify)
    _add_threshold_arguments(verify)
    verify.add_argument("--report", help="judge this existing report instead of running load (default: run load)")
    verify.add_argument(
        "--skip-smoke", action="store_true", help="do not run the smoke checks before load (default: run them)"
    )

    smoke = commands.add_parser(
        "smoke", help="health, completion and streaming checks",
        description="Health, model list, completion and streaming checks, stopping at the first failure.",
        epilog=EXIT_CODES["smoke"],
    )
    smoke.add_argument("url", help="server base URL, e.g. http://127.0.0.1:8000")
    smoke.add_argument("--model", help="model id (default: the first id from /v1/models)")
    smoke.add_argument(
        "--timeout", type=float, default=30.0, help="per-request deadline in seconds (default: %(default)g)"
    )
    smoke.add_argument(
        "--max-tokens", type=_whole_number, default=16,
        help="max_tokens of the completion checks (default: %(default)s)",
    )

    plot = commands.add_parser(
        "plot", help="PNG of a report's time series",
        description="Draw a report's per-second series (throughput, failures by class, TTFT) with its events.",
        epilog=EXIT_CODES["plot"],
    )
    plot.add_argument("report", help="JSON report written by run/verify")
    plot.add_argument("-o", "--output", default="loadgen.png", help="PNG path (default: %(default)s)")
    plot.add_argument(
        "--event",
        action="append",
        default=[],
        metavar="SECONDS=LABEL",
        help="mark a moment, e.g. --event 42=promote; repeatable, added to the report's events (default: none)",
    )
    plot.add_argument("--title", help="figure title (default: the model and the run's start time)")
    return parser


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llmzd")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def config_from_args(args: argparse.Namespace) -> LoadConfig:
    duration = args.duration
    if duration is None and args.requests is None:
        duration = args.default_duration
    return LoadConfig(
        url=args.url,
        model=args.model,
        endpoint=Endpoint(args.endpoint),
        concurrency=args.concurrency,
        rate=args.rate,
        duration=duration,
        requests=args.requests,
        max_tokens=args.max_tokens,
        scenario=args.scenario,
        timeout=args.timeout,
        warmup=args.warmup,
        seed=args.seed,
        output=args.output,
    )


class _SignalStop:
    """First Ctrl-C / SIGTERM: start no new requests and let the ones in flight finish (graceful stop).
    Second: abandon the ones in flight. Either way the run returns and its report is written."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.abort = asyncio.Event()

    def __call__(self) -> None:
        if self.stop.is_set():
            self.abort.set()
            print("\nloadgen: abandoning in-flight requests", file=sys.stderr)
            return
        self.stop.set()
        print(
            "\nloadgen: stopping; in-flight requests finish (signal again to abandon them)", file=sys.stderr
        )

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self)
                installed.append(sig)
        try:
            yield
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)


async def _load_with_progress(config: LoadConfig, processes: int) -> LoadReport:
    if processes < 1:
        raise ConfigError(f"--processes must be at least 1, got {processes}")
    signals = _SignalStop()
    counters = LiveCounters()
    live = processes == 1 and sys.stderr.isatty()
    progress = asyncio.create_task(show_progress(counters, sys.stderr)) if live else None
    try:
        with signals.installed():
            if processes == 1:
                return await run_load(config, stop=signals.stop, abort=signals.abort, counters=counters)
            return await _load_in_processes(config, processes, signals)
    finally:
        if progress is not None:
            progress.cancel()
            await asyncio.gather(progress, return_exceptions=True)


async def _load_in_processes(config: LoadConfig, processes: int, signals: _SignalStop) -> LoadReport:
    load_prompts(config.scenario)  # a bad scenario is a usage error here, not in every worker
    if config.model is None:
        async with httpx.AsyncClient() as client:
            model = await first_model_id(client, config.url, timeout=min(config.timeout, 10.0))
        config = replace(config, model=model)
    return await run_load_processes(config, processes, stop=signals.stop, abort=signals.abort)


def _finish_run(report: LoadReport) -> dict[str, Any]:
    data = report.to_json()
    path = write_report(report.config.output, data)
    print(format_summary(data["summary"]))
    note = " (interrupted: partial results)" if report.interrupted else ""
    print(f"report written to {path}{note}")
    return data


def command_run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    report = run_async(lambda: _load_with_progress(config, args.processes))
    _finish_run(report)
    return EXIT_INTERRUPTED if report.interrupted else EXIT_OK


async def _preflight(url: str, timeout: float) -> str | None:
    """Pre-flight: /health must answer 200 within ``timeout`` (--timeout). Returns a failure line; raises
    ServerError if unreachable."""
    health = join_url(url, "/health")
    async with httpx.AsyncClient(timeout=timeout) as client:
        try:
            response = await client.get(health)
        except httpx.HTTPError as exc:
            raise ServerError(
                f"pre-flight GET {redacted_url(health)} failed: {describe_transport_error(exc, timeout=timeout)}"
            ) from exc
    if response.status_code != 200:
        return f"pre-flight: /health returned HTTP {response.status_code}: {excerpt(response.text)}"
    return None


def _print_smoke(report: SmokeReport) -> None:
    for check in report.checks:
        print(
            f"{'PASS' if check.ok else 'FAIL'} {check.name:<10} {check.seconds * 1000:8.1f} ms"
            f"  {check.detail}"
        )


def command_verify(args: argparse.Namespace) -> int:
    thresholds = Thresholds(args.max_error_rate, args.max_5xx_rate, args.min_stream_completion)
    if args.report:
        data = read_report(args.report)
        return _verdict(
            evaluate(data["summary"], thresholds), thresholds, interrupted=data.get("interrupted")
        )
    config = config_from_args(args)

    async def verify() -> tuple[list[str], LoadReport | None]:
        preflight_failure = await _preflight(config.url, config.timeout)
        if preflight_failure:
            return [preflight_failure], None
        if not args.skip_smoke:
            smoke = await run_smoke(config.url, model=config.model, timeout=min(config.timeout, 30.0))
            _print_smoke(smoke)
            if not smoke.ok:
                return [smoke.failure_summary()], None
        return [], await _load_with_progress(config, args.processes)

    early_failures, report = run_async(verify)
    if report is None:
        return _verdict(early_failures, thresholds, interrupted=False)
    data = _finish_run(report)
    return _verdict(evaluate(data["summary"], thresholds), thresholds, interrupted=report.interrupted)


def _verdict(failures: list[str], thresholds: Thresholds, *, interrupted: bool | None) -> int:
    if interrupted:
        failures = [*failures, "run interrupted before its planned end: partial results are not a verdict"]
    for line in failures:
        print(f"FAIL: {line}")
    if failures:
        return EXIT_FAILED
    print(
        f"PASS: error rate <= {thresholds.max_error_rate:g}, 5xx rate <= {thresholds.max_5xx_rate:g}, "
        f"stream completion >= {thresholds.min_stream_completion:g}"
    )
    return EXIT_OK


def command_smoke(args: argparse.Namespace) -> int:
    if not args.url.startswith(("http://", "https://")):
        raise ConfigError(f"URL {args.url!r} must start with http:// or https://")
    report = run_async(
        lambda: run_smoke(args.url, model=args.model, timeout=args.timeout, max_tokens=args.max_tokens)
    )
    _print_smoke(report)
    if report.ok:
        print(f"smoke OK: model {report.model}, total {report.total_s:.2f}s")
        return EXIT_OK
    print(report.failure_summary())
    return EXIT_FAILED


def command_plot(args: argparse.Namespace) -> int:
    from loadgen.plot import parse_event, plot_report, report_events

    events = [parse_event(text) for text in args.event]
    data = read_report(args.report)
    path = plot_report(data, args.output, events=[*report_events(data), *events], title=args.title)
    print(f"plot written to {path}")
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": command_run,
    "verify": command_verify,
    "smoke": command_smoke,
    "plot": command_plot,
}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (ConfigError, ServerError) as exc:
        print(f"loadgen: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
