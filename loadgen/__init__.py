"""Streaming load generator, no-downtime verifier and smoke checks for vLLM's OpenAI-compatible API."""
