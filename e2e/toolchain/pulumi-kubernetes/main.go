// Command pulumi-resource-kubernetes serves the Kubernetes provider from the published
// github.com/pulumi/pulumi-kubernetes/provider/v4 module.
//
// The module's own main package (cmd/pulumi-resource-kubernetes) embeds schema-embed.json and
// terraform-mapping-embed.json, which its `go generate` writes and the module does not ship. build.sh runs
// ./gen to write both files from the module's schema.json and terraform-mapping.json into a build directory
// outside the repository, next to a copy of this file, and builds there.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
