#!/usr/bin/env bash
# Lays out a PULUMI_HOME in DIR with the built Kubernetes provider plugin linked in, and prints the environment the
# end-to-end tests run `pulumi` with. Nothing here touches the network.
#
#   e2e/toolchain/pulumi-home.sh DIR
#
# prints, one per line (for `eval "$(...)"` or parsing as KEY=VALUE):
#   PATH=<pulumi bin dir>:$PATH     the CLI, the language host and its two scripts (the engine looks beside itself)
#   PULUMI_HOME=DIR
#   PULUMI_SKIP_UPDATE_CHECK=true
#   PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
#
# The engine loads a resource plugin from $PULUMI_HOME/plugins/resource-<name>-v<version>/pulumi-resource-<name>,
# and the version must be exactly the one the SDK asks for (the `version` in pulumi_kubernetes/pulumi-plugin.json):
# install the Python SDK pinned in e2e/requirements.txt. Fails when a binary is missing: run
# e2e/toolchain/build.sh pulumi pulumi-kubernetes first.
set -euo pipefail

dir="${1:?usage: pulumi-home.sh DIR}"
toolchain="$(cd "$(dirname "$0")" && pwd)"
pulumi_bin="$("$toolchain/build.sh" --bin-dir pulumi)"
kubernetes_bin="$("$toolchain/build.sh" --bin-dir pulumi-kubernetes)"
version="$(tr -d ' \n' < "$toolchain/pulumi-kubernetes/VERSION")"

for f in "$pulumi_bin/pulumi" "$pulumi_bin/pulumi-language-python" "$kubernetes_bin/pulumi-resource-kubernetes"; do
    [[ -x "$f" ]] || { echo "pulumi-home.sh: $f is missing; run e2e/toolchain/build.sh pulumi pulumi-kubernetes" >&2; exit 1; }
done

mkdir -p "$dir/plugins/resource-kubernetes-v$version"
dir="$(cd "$dir" && pwd)"
ln -sfn "$kubernetes_bin/pulumi-resource-kubernetes" "$dir/plugins/resource-kubernetes-v$version/pulumi-resource-kubernetes"

echo "PATH=$pulumi_bin:$PATH"
echo "PULUMI_HOME=$dir"
echo "PULUMI_SKIP_UPDATE_CHECK=true"
echo "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
