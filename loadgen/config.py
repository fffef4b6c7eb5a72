"""Load run settings, their defaults and the environment variables that override them.

The defaults (4 streams for 30 s) and variable names are those of the zero-downtime update guide with Argo Rollouts.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Any

from loadgen.api import Endpoint

DEFAULT_CONCURRENCY = 4
DEFAULT_DURATION_S = 30.0
DEFAULT_OUTPUT = "/tmp/stream_load_results.json"
DEFAULT_SCENARIO = "short"


class ConfigError(ValueError):
    """A setting is invalid; the message names it and says what would be valid."""


def env_number(name: str, kind: type[int] | type[float], default: float) -> float:
    """Read a numeric environment variable, falling back to `default` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not a valid {kind.__name__}") from None
    if not math.isfinite(value):
        raise ConfigError(f"environment variable {name}={raw!r} must be a finite number")
    return value


@dataclass(frozen=True)
class LoadConfig:
    url: str
    model: str | None = None
    endpoint: Endpoint = Endpoint.COMPLETIONS
    concurrency: int = DEFAULT_CONCURRENCY
    rate: float | None = None  # open loop (Poisson arrivals per second); None means closed loop
    duration: float | None = DEFAULT_DURATION_S
    requests: int | None = None
    max_tokens: int = 64
    scenario: str = DEFAULT_SCENARIO
    timeout: float = 60.0
    warmup: float = 0.0
    seed: int = 0
    output: str = DEFAULT_OUTPUT

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError(
                f"--url {self.url!r} must start with http:// or https:// (e.g. http://127.0.0.1:8000)"
            )
        if self.concurrency < 1:
            raise ConfigError(f"--concurrency must be at least 1, got {self.concurrency}")
        if self.rate is not None and not (self.rate > 0 and math.isfinite(self.rate)):
            raise ConfigError(f"--rate must be a positive number of requests per second, got {self.rate}")
        if self.duration is not None and not (self.duration > 0 and math.isfinite(self.duration)):
            raise ConfigError(f"--duration must be a positive number of seconds, got {self.duration}")
        if self.requests is not None and self.requests < 1:
            raise ConfigError(f"--requests must be at least 1, got {self.requests}")
        if self.duration is None and self.requests is None:
            raise ConfigError("give --duration or --requests (or both) so the run has an end")
        if self.max_tokens < 1:
            raise ConfigError(f"--max-tokens must be at least 1, got {self.max_tokens}")
        if not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise ConfigError(f"--timeout must be a positive number of seconds, got {self.timeout}")
        if not (self.warmup >= 0 and math.isfinite(self.warmup)):
            raise ConfigError(f"--warmup must be zero or a positive number of seconds, got {self.warmup}")
        if not isinstance(self.endpoint, Endpoint):
            raise ConfigError(f"--endpoint must be one of {', '.join(e.value for e in Endpoint)}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["endpoint"] = self.endpoint.value
        return data
