"""Offline render: run the real Pulumi program under Pulumi's mocks and write every object it would create."""

from llmzd_infra.render.runner import RenderResult, render_program
from llmzd_infra.render.stack_file import SECRET_PLACEHOLDER, read_stack_config
from llmzd_infra.render.writer import write_render

__all__ = ["SECRET_PLACEHOLDER", "RenderResult", "read_stack_config", "render_program", "write_render"]
