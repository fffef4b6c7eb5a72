"""The Pulumi program's edge: a bad config stops `pulumi up` with every problem and no traceback."""

from __future__ import annotations

import json

import pulumi

from llmzd_infra.render.mocks import RecordingMocks, RecordingMonitor
from tests.support.stacks import minimal_model


def test_bad_config_is_a_run_error_listing_every_problem_before_any_resource() -> None:
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="llmzd", stack="test", preview=True, monitor=RecordingMonitor(mocks))
    bad = [minimal_model(port=0, image={"tag": "latest"})]
    pulumi.runtime.set_all_config({"llmzd:models": json.dumps(bad), "llmzd:gpuBudget": "-1"}, [])
    caught: list[BaseException] = []

    @pulumi.runtime.test
    def program() -> None:
        from llmzd_infra.program import run

        try:
            run()
        except pulumi.RunError as error:  # RunError: Pulumi prints the message, not a Python traceback
            caught.append(error)

    program()
    (error,) = caught
    message = str(error)
    assert "invalid llmzd stack config (3 problems)" in message
    for path in ("llmzd:models[0].port", "llmzd:models[0].image.tag", "llmzd:gpuBudget"):
        assert f"  - {path}: got " in message
    assert error.__cause__ is None and error.__suppress_context__
    assert mocks.resources == []
