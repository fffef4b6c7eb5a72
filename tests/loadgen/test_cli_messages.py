"""Messages, file modes and limits a new user meets first: timeouts say what and how long, reports follow the
umask, verify's pre-flight honours --timeout, every option's help shows its default."""

from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

import httpx
import pytest

from loadgen.api import describe_transport_error
from loadgen.cli import build_parser, main
from loadgen.report import write_report


def test_a_timeout_says_what_timed_out_and_after_how_long() -> None:
    line = describe_transport_error(httpx.ReadTimeout(""), timeout=5.0)
    assert line == "timed out after 5s waiting for the response (ReadTimeout)"
    assert "ReadTimeout: ReadTimeout" not in describe_transport_error(httpx.ReadTimeout("ReadTimeout"))
    assert describe_transport_error(httpx.ConnectError("refused")) == "ConnectError: refused"


def test_reports_follow_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        path = write_report(tmp_path / "r.json", {"schema_version": 1})
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_verify_preflight_honours_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        code = main(["verify", "--url", url, "--timeout", "0.5", "--duration", "1"])
        elapsed = time.monotonic() - started
    assert code == 2
    assert elapsed < 5  # the fixed 10 s pre-flight limit is gone
    err = capsys.readouterr().err
    assert f"pre-flight GET {url}/health failed: timed out after 0.5s waiting for the response" in err


@pytest.mark.parametrize("command", ["run", "verify", "smoke", "plot"])
def test_every_option_has_help_with_its_default(command: str) -> None:
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    parser = subparsers.choices[command]
    assert parser.description and parser.epilog and parser.epilog.startswith("exit codes:")
    for action in parser._actions:
        if action.option_strings and action.dest not in ("help",):
            assert action.help and "default" in action.help, action.option_strings
