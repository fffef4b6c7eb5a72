// Command etcd is the etcd server from the published go.etcd.io/etcd/server/v3 module.
//
// The etcd binary's own main package lives in the repository's root module (go.etcd.io/etcd/v3), which
// the module proxy serves without a buildable main; etcdmain.Main is what that main calls.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
