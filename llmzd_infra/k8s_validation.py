"""Kubernetes' own rules for label and annotation keys and values, so the program never writes what the API
server refuses.

Source: k8s.io/apimachinery v0.34.4, pkg/util/validation/validation.go (IsQualifiedName, IsValidLabelValue,
IsDNS1123Subdomain) and pkg/api/validation/objectmeta.go (ValidateAnnotations: keys are qualified names
compared in lowercase; keys plus values at most TotalAnnotationSizeLimitB = 256 KiB). Go's RE2 classes are
ASCII-only, so these patterns use ``re.ASCII`` and ``fullmatch`` (Python's ``$`` would accept a trailing newline).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

QUALIFIED_NAME_MAX = 63  # qualifiedNameMaxLength
LABEL_VALUE_MAX = 63  # LabelValueMaxLength
DNS1123_SUBDOMAIN_MAX = 253  # DNS1123SubdomainMaxLength
ANNOTATIONS_MAX_BYTES = 256 * 1024  # TotalAnnotationSizeLimitB

_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", re.ASCII)
_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*", re.ASCII)


def dns1123_subdomain_problem(value: str) -> str | None:
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        return f"longer than {DNS1123_SUBDOMAIN_MAX} characters"
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        return "not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', alphanumeric at both ends)"
    return None


def qualified_name_problem(key: str) -> str | None:
    """Why ``key`` is not a qualified name (``[prefix/]name``), or None when it is."""
    parts = key.split("/")
    if len(parts) > 2:
        return "more than one '/'"
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            return "empty prefix before '/'"
        problem = dns1123_subdomain_problem(prefix)
        if problem:
            return f"prefix {problem}"
    if not name:
        return "empty name part"
    if len(name) > QUALIFIED_NAME_MAX:
        return f"name part longer than {QUALIFIED_NAME_MAX} characters"
    if not _QUALIFIED_NAME.fullmatch(name):
        return "name part must be ASCII letters, digits, '-', '_' or '.', alphanumeric at both ends"
    return None


def label_value_problem(value: str) -> str | None:
    if len(value) > LABEL_VALUE_MAX:
        return f"longer than {LABEL_VALUE_MAX} characters"
    if value and not _QUALIFIED_NAME.fullmatch(value):
        return "must be ASCII letters, digits, '-', '_' or '.', alphanumeric at both ends"
    return None


def label_problems(labels: Mapping[str, str]) -> list[str]:
    problems = []
    for key, value in labels.items():
        key_problem = qualified_name_problem(key)
        if key_problem:
            problems.append(f"label key {key!r}: {key_problem}")
        value_problem = label_value_problem(value)
        if value_problem:
            problems.append(f"label {key!r} value {value!r}: {value_problem}")
    return problems


def annotation_problems(annotations: Mapping[str, str]) -> list[str]:
    problems = []
    for key in annotations:
        key_problem = qualified_name_problem(key.lower())
        if key_problem:
            problems.append(f"annotation key {key!r}: {key_problem}")
    size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
    if size > ANNOTATIONS_MAX_BYTES:
        problems.append(f"annotations take {size} bytes, more than {ANNOTATIONS_MAX_BYTES}")
    return problems


def checked_metadata(labels: Mapping[str, str], annotations: Mapping[str, str] | None = None) -> None:
    """Raise ValueError when a label or annotation the program is about to write breaks the API server's rules.

    Config validation keeps user values valid; this catches a derivation bug before any resource is created.
    """
    problems = label_problems(labels) + annotation_problems(annotations or {})
    if problems:
        raise ValueError("llmzd would write invalid Kubernetes metadata: " + "; ".join(problems))


def label_value_for(text: str) -> str:
    """``text`` itself when it is a valid label value; else a readable, valid stand-in with a hash suffix.

    Used for values that come from config, like the image tag in ``app.kubernetes.io/version``: a digest
    (``sha256:<64 hex>``) or a tag over 63 characters is a fine image reference but not a label value.
    """
    if label_value_problem(text) is None:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", text.encode("ascii", "ignore").decode())
    head = readable[: LABEL_VALUE_MAX - len(digest) - 1].strip("-_.")
    return f"{head}-{digest}" if head else digest
