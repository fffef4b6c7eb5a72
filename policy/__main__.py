"""CrossGuard entry point: ``pulumi preview --policy-pack policy``.

The rules are the same pure functions the offline render runs (``llmzd_infra.policies``). Pulumi starts this
file from the pack directory, so the repo root (one level up) and this directory go on ``sys.path`` first:
the pack then works from a checkout without installing the project into the pack's virtualenv.
"""

import sys
from pathlib import Path

_PACK_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(_PACK_DIR.parent), str(_PACK_DIR)]

from llmzd_pack import PACK_NAME, build_policies  # noqa: E402
from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=build_policies())
