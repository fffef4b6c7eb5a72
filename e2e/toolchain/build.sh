#!/usr/bin/env bash
# Builds the real programs the end-to-end tests run, from modules the Go module proxy serves, into a cache
# outside the repository: ${LLMZD_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmzd-e2e}/<component>-<hash>/bin.
# <hash> covers the component's wrapper module (go.mod, go.sum, *.go, VERSION), its build function below and
# the Go version, so a second run builds nothing and a version bump rebuilds only that component.
#
#   e2e/toolchain/build.sh                 build every component that is missing
#   e2e/toolchain/build.sh kubernetes etcd build these components only
#   e2e/toolchain/build.sh --bin-dir NAME  print NAME's bin directory (built or not) and exit
#   e2e/toolchain/build.sh --list          print the components
#
# A cold build of everything takes 30-60 minutes on 2 cores; run it in the background with a log:
#   nohup e2e/toolchain/build.sh > out/e2e/build.log 2>&1 &
set -euo pipefail

TOOLCHAIN_DIR="$(cd "$(dirname "$0")" && pwd)"
CACHE_ROOT="${LLMZD_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmzd-e2e}"
COMPONENTS=(etcd kubernetes argo-rollouts pulumi pulumi-kubernetes)
# Builds are CPU-bound for tens of minutes; keep the machine usable meanwhile.
NICE="${LLMZD_E2E_NICE:-10}"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export CGO_ENABLED="${CGO_ENABLED:-0}"

component_hash() {
    local dir="$TOOLCHAIN_DIR/$1"
    (cd "$dir" && find . -maxdepth 2 -type f \( -name 'go.mod' -o -name 'go.sum' -o -name '*.go' -o -name VERSION \) \
        -print0 | sort -z | xargs -0 sha256sum; declare -f "build_$1" go_build; go env GOVERSION) \
        | sha256sum | cut -c1-16
}

bin_dir() { echo "$CACHE_ROOT/$1-$(component_hash "$1")/bin"; }

# module_version MODULE: the version of MODULE the wrapper's go.mod resolves to.
module_version() { go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' "$1"; }

# module_commit MODULE@VERSION: the VCS commit the proxy recorded for that version (empty when unknown).
module_commit() { go mod download -json "$1" | sed -n 's/.*"Hash": "\([0-9a-f]*\)".*/\1/p' | head -n1; }

# module_dir MODULE: where the module's source sits in the module cache.
module_dir() { go list -m -f '{{if .Replace}}{{.Replace.Dir}}{{else}}{{.Dir}}{{end}}' "$1"; }

build_date() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# go_build OUT PACKAGE LDFLAGS: one timed `go build`.
go_build() {
    local out="$1" pkg="$2" ldflags="$3" started
    started=$(date +%s)
    echo "  building $(basename "$out") from $pkg"
    nice -n "$NICE" go build -trimpath -ldflags "-s -w $ldflags" -o "$out" "$pkg"
    echo "  built $(basename "$out") in $(( $(date +%s) - started )) s"
}

build_etcd() {
    local out="$1" v commit
    v=$(module_version go.etcd.io/etcd/server/v3)
    commit=$(module_commit "go.etcd.io/etcd/server/v3@$v")
    # The version string itself is a constant in go.etcd.io/etcd/api/v3/version; only the commit is a variable,
    # stamped when the proxy recorded one (it does not for every module).
    go_build "$out/etcd" . "${commit:+-X go.etcd.io/etcd/api/v3/version.GitSHA=${commit:0:12}}"
}

build_kubernetes() {
    local out="$1" v commit minor ldflags pkg
    v=$(module_version k8s.io/kubernetes)
    commit=$(module_commit "k8s.io/kubernetes@$v")
    minor=$(echo "$v" | cut -d. -f2)
    # The variables hack/lib/version.sh sets; clients (kubectl version, client libraries) read them.
    pkg=k8s.io/component-base/version
    ldflags="-X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitCommit=$commit"
    ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(build_date)"
    ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.gitMajor=1"
    ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitMinor=$minor"
    for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
        go_build "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd" "$ldflags"
    done
}

build_argo-rollouts() {
    local out="$1" v commit pkg src
    v=$(module_version github.com/argoproj/argo-rollouts)
    commit=$(module_commit "github.com/argoproj/argo-rollouts@$v")
    pkg=github.com/argoproj/argo-rollouts/utils/version
    go_build "$out/rollouts-controller" github.com/argoproj/argo-rollouts/cmd/rollouts-controller \
        "-X $pkg.version=${v#v} -X $pkg.gitTag=$v -X $pkg.gitCommit=$commit -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(build_date)"
    # The CRDs from the same module version, so the tests install exactly what this controller expects.
    src=$(module_dir github.com/argoproj/argo-rollouts)
    mkdir -p "$out/../crds"
    cp "$src"/manifests/crds/*-crd.yaml "$out/../crds/"
    chmod u+w "$out"/../crds/*
}

build_pulumi() {
    local out="$1" v sdk
    v=$(module_version github.com/pulumi/pulumi/pkg/v3)
    go_build "$out/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
        "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v"
    # Pulumi's own Python language host module is not served by the proxy; see pulumi-language-python/main.go.
    go_build "$out/pulumi-language-python" ./pulumi-language-python \
        "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v"
    # The language host runs these two scripts from beside the CLI; they ship in the sdk/v3 module.
    sdk=$(module_dir github.com/pulumi/pulumi/sdk/v3)
    install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$out/"
    install -m 0755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$out/"
}

build_pulumi-kubernetes() {
    local out="$1" v src build
    v=$(tr -d ' \n' < "$TOOLCHAIN_DIR/pulumi-kubernetes/VERSION")
    src=$(module_dir github.com/pulumi/pulumi-kubernetes/provider/v4)
    # The embedded schema and terraform mapping are generated, never committed: build from a copy of the wrapper
    # module in the cache, next to the generated files.
    build="$out/../src"
    rm -rf "$build" && mkdir -p "$build" && cp -R . "$build/"
    cd "$build"
    nice -n "$NICE" go run ./gen -src "$src/cmd/pulumi-resource-kubernetes" -version "$v" -out .
    go_build "$out/pulumi-resource-kubernetes" . \
        "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$v"
}

build_component() {
    local name="$1" dir bin started
    dir="$TOOLCHAIN_DIR/$name"
    bin="$(bin_dir "$name")"
    if [[ -f "$bin/.complete" ]]; then
        echo "== $name: cached in $bin"
        return
    fi
    echo "== $name: building into $bin"
    started=$(date +%s)
    rm -rf "$(dirname "$bin")"
    mkdir -p "$bin"
    (cd "$dir" && "build_$name" "$bin")
    touch "$bin/.complete"
    echo "== $name: done in $(( $(date +%s) - started )) s"
}

main() {
    case "${1:-}" in
        --bin-dir) bin_dir "${2:?--bin-dir needs a component: ${COMPONENTS[*]}}"; return ;;
        --list) printf '%s\n' "${COMPONENTS[@]}"; return ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; return ;;
    esac
    local wanted=("$@") name total_started
    [[ ${#wanted[@]} -gt 0 ]] || wanted=("${COMPONENTS[@]}")
    for name in "${wanted[@]}"; do
        [[ -d "$TOOLCHAIN_DIR/$name" ]] || { echo "unknown component '$name': expected one of ${COMPONENTS[*]}" >&2; exit 2; }
    done
    total_started=$(date +%s)
    for name in "${wanted[@]}"; do
        build_component "$name"
    done
    echo "== all done in $(( $(date +%s) - total_started )) s"
}

main "$@"
