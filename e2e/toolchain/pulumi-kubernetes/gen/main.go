// Command gen writes the two files the provider binary embeds: the package schema with its version set, and the
// terraform mapping, both compacted, from the provider module's cmd/pulumi-resource-kubernetes directory.
//
//	go run ./gen -src <module>/cmd/pulumi-resource-kubernetes -version 4.25.0 -out <build dir>
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"log"
	"os"
	"path/filepath"
)

func main() {
	src := flag.String("src", "", "the provider module's cmd/pulumi-resource-kubernetes directory")
	version := flag.String("version", "", "the provider version to write into the schema")
	out := flag.String("out", ".", "where to write schema-embed.json and terraform-mapping-embed.json")
	flag.Parse()
	if *src == "" || *version == "" {
		log.Fatal("gen: -src and -version are required")
	}

	// Keep every other schema field as it is; only "version" changes (the engine and the SDKs read it).
	var schema map[string]json.RawMessage
	readJSON(filepath.Join(*src, "schema.json"), &schema)
	v, err := json.Marshal(*version)
	if err != nil {
		log.Fatal(err)
	}
	schema["version"] = v
	writeJSON(filepath.Join(*out, "schema-embed.json"), schema)

	var mapping json.RawMessage
	readJSON(filepath.Join(*src, "terraform-mapping.json"), &mapping)
	var compact bytes.Buffer
	if err := json.Compact(&compact, mapping); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "terraform-mapping-embed.json"), compact.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

func readJSON(path string, into any) {
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		log.Fatalf("gen: %s: %v", path, err)
	}
}

func writeJSON(path string, value any) {
	data, err := json.Marshal(value)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		log.Fatal(err)
	}
}
