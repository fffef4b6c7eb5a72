"""Resource options for a component's children."""

from __future__ import annotations

import pulumi


def child_options(parent: pulumi.ComponentResource, opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """Parent the child, and hand down the component's ``depends_on``.

    Pulumi does not make children wait for what their component depends on; without this a Rollout could
    be sent before the Argo Rollouts CRDs exist.
    """
    depends_on = opts.depends_on if opts is not None else None
    return pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
