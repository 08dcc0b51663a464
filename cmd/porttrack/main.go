// Command porttrack tracks the progress of porting the NATS server's Raft
// implementation to raftport, item by item, in porting.db.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
