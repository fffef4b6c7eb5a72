"""A consumer stack: reads the llmzd stack's outputs as docs/architecture.md shows, and exports what it read."""

import pulumi

serving = pulumi.StackReference(pulumi.Config().require("source"))
model = serving.get_output("models").apply(lambda models: models["engine"])
pulumi.export("namespace", serving.get_output("namespace"))
pulumi.export("openai_base_url", model.apply(lambda m: m["stableUrl"]))
pulumi.export("served_model", model.apply(lambda m: m["servedModel"]))
pulumi.export("revision", model.apply(lambda m: m["revision"]))
