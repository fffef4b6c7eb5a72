"""What a credential looks like, so no config value that is one reaches an error message, arg or ConfigMap."""

from __future__ import annotations

import re

REDACTED = "<redacted>"
# Values that are credentials whatever their key is called. PEM certificates are public (CA bundles live in
# ConfigMaps on purpose), so only non-certificate PEM blocks count.
CREDENTIAL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Hugging Face token", re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{20,}")),
    ("a PEM private key or credential block", re.compile(r"-----BEGIN (?!CERTIFICATE-----)[A-Z0-9 ]*-----")),
    ("an AWS access key id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")),
    ("a bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}")),
    ("an OpenAI-style API key", re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}")),
)
# Kubeconfig content: the whole value is redacted, since any line of it may carry a credential.
_KUBECONFIG = re.compile(
    r"(?s)(?=.*\bkind:\s*Config\b)(?=.*\b(?:clusters|users|contexts):)"
    r"|\b(?:client-key-data|client-certificate-data|token|password):\s*\S{8,}"
)


def credential_kind(text: str) -> str | None:
    """What kind of credential ``text`` holds, or None."""
    if _KUBECONFIG.search(text):
        return "kubeconfig content"
    for description, pattern in CREDENTIAL_PATTERNS:
        if pattern.search(text):
            return description
    return None


def redact_credentials(text: str) -> str:
    """``text`` with every credential-looking part replaced; kubeconfig content replaced whole."""
    if _KUBECONFIG.search(text):
        return REDACTED + " (kubeconfig content)"
    for _, pattern in CREDENTIAL_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text
