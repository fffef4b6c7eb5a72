"""JSON bodies in the shapes vLLM v0.11's OpenAI-compatible server sends (``vllm/entrypoints/openai/protocol.py``).

Kept apart from the server so the shapes can be read and checked against vLLM in one place.
"""

from __future__ import annotations

import json
import time
from typing import Any

OWNED_BY = "vllm"


def model_list(model: str, max_model_len: int, created: int) -> dict[str, Any]:
    """GET /v1/models: a ``ModelList`` of one ``ModelCard`` with its permission entry."""
    return {
        "object": "list",
        "data": [
            {
                "id": model,
                "object": "model",
                "created": created,
                "owned_by": OWNED_BY,
                "root": model,
                "parent": None,
                "max_model_len": max_model_len,
                "permission": [
                    {
                        "id": f"modelperm-{created:x}",
                        "object": "model_permission",
                        "created": created,
                        "allow_create_engine": False,
                        "allow_sampling": True,
                        "allow_logprobs": True,
                        "allow_search_indices": False,
                        "allow_view": True,
                        "allow_fine_tuning": False,
                        "organization": "*",
                        "group": None,
                        "is_blocking": False,
                    }
                ],
            }
        ],
    }


def error(message: str, kind: str, code: int, param: str | None = None) -> dict[str, Any]:
    """vLLM's ``ErrorResponse``: nested in an ``error`` object, as OpenAI does, since vLLM 0.10.1 (PR #22099)."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "completion_tokens": completion_tokens,
        "prompt_tokens_details": None,
    }


class Completion:
    """One completion's chunks and full response, for /v1/completions (``chat=False``) or /v1/chat/completions."""

    def __init__(self, *, chat: bool, model: str, request_id: int, prompt_tokens: int) -> None:
        self.chat = chat
        self.model = model
        self.prompt_tokens = prompt_tokens
        self.id = f"{'chatcmpl' if chat else 'cmpl'}-{request_id:032x}"
        self.created = int(time.time())
        self.object = "chat.completion.chunk" if chat else "text_completion"
        head = {"id": self.id, "object": self.object, "created": self.created, "model": self.model}
        # Every chunk but the text and finish reason is the same: encode that part once per request.
        self._head = json.dumps(head)[:-1]

    def role_chunk(self) -> str:
        """The chat stream's first chunk: the assistant role with empty content, sent before any token."""
        choice = {"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}
        return f'{self._head}, "choices": [{json.dumps(choice)}], "usage": null}}'

    def token_chunk(self, text: str, finish_reason: str | None) -> str:
        if self.chat:
            choice: dict[str, Any] = {"index": 0, "delta": {"content": text}, "logprobs": None}
        else:
            choice = {"index": 0, "text": text, "logprobs": None}
        choice["finish_reason"] = finish_reason
        choice["stop_reason"] = None
        return f'{self._head}, "choices": [{json.dumps(choice)}], "usage": null}}'

    def usage_chunk(self, completion_tokens: int) -> str:
        """The extra last chunk with ``stream_options.include_usage``: no choices, only usage."""
        return f'{self._head}, "choices": [], "usage": {json.dumps(usage(self.prompt_tokens, completion_tokens))}}}'

    def response(self, text: str, completion_tokens: int, finish_reason: str) -> dict[str, Any]:
        if self.chat:
            choice: dict[str, Any] = {
                "index": 0,
                "message": {"role": "assistant", "content": text, "tool_calls": []},
                "logprobs": None,
            }
        else:
            choice = {"index": 0, "text": text, "logprobs": None, "prompt_logprobs": None}
        choice.update(finish_reason=finish_reason, stop_reason=None)
        return {
            "id": self.id,
            "object": "chat.completion" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
            "usage": usage(self.prompt_tokens, completion_tokens),
        }
