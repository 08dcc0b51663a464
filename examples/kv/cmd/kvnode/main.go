// Command kvnode runs one replica of the kv example over NATS, or talks to
// a running group as a client.
//
//	kvnode serve -name n1 -peers n1,n2,n3 -dir data/n1 -embedded-nats 127.0.0.1:4222
//	kvnode serve -name n2 -peers n1,n2,n3 -dir data/n2 -nats nats://127.0.0.1:4222
//	kvnode put   -peers n1,n2,n3 -nats nats://127.0.0.1:4222 greeting hello
//	kvnode get   -peers n1,n2,n3 -nats nats://127.0.0.1:4222 greeting
//	kvnode cas   -peers n1,n2,n3 -nats nats://127.0.0.1:4222 greeting hello bye
//	kvnode status -peers n1,n2,n3 -nats nats://127.0.0.1:4222
//	kvnode remove-peer -peers n1,n2,n3 -nats nats://127.0.0.1:4222 n3
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/porttrack-dev/porttrack/raftport"
)

// errUsage marks an error already explained by the flag package or a
// usage line: exit 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: kvnode serve|get|put|cas|status|remove-peer [flags] [args] ("kvnode <command> -h" lists its flags)`

// run dispatches to one command and turns its error into an exit code:
// 0 success, 1 failure, 2 bad usage. Every failure is one line on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServeCmd(ctx, args[1:], stdout, stderr)
	case "get", "put", "cas", "status", "remove-peer":
		err = runClientCmd(ctx, args[0], args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "kvnode: unknown command %q; %s\n", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "kvnode %s: %v\n", args[0], err)
		return 1
	}
}

// groupFlags are the flags every command shares: which group, where its
// replicas are, and how to reach NATS.
type groupFlags struct {
	group string
	peers string
	nats  string
}

func (g *groupFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.group, "group", "kv", "Raft group name")
	fs.StringVar(&g.peers, "peers", "", "comma-separated names of every replica (required)")
	fs.StringVar(&g.nats, "nats", "nats://127.0.0.1:4222", "NATS server URL")
}

// peerIDs turns the replica names into node IDs, which is what raftport
// and the kv subjects use.
func (g *groupFlags) peerIDs() ([]string, error) {
	if g.peers == "" {
		return nil, fmt.Errorf("-peers is required")
	}
	var ids []string
	seen := map[string]bool{}
	for _, name := range strings.Split(g.peers, ",") {
		name = strings.TrimSpace(name)
		if name == "" || seen[name] {
			return nil, fmt.Errorf("-peers %q: empty or repeated name", g.peers)
		}
		seen[name] = true
		ids = append(ids, raftport.NodeID(name))
	}
	return ids, nil
}

// parse parses args into fs. A bad flag is one line on stderr; -h lists
// the flags.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return err
		}
		return usageError(stderr, "%s: %v (\"%s -h\" lists the flags)", fs.Name(), err, fs.Name())
	}
	return nil
}

// usageError prints one line and marks the error as usage.
func usageError(stderr io.Writer, format string, args ...any) error {
	fmt.Fprintf(stderr, "kvnode: "+format+"\n", args...)
	return errUsage
}
