package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/porttrack-dev/porttrack/examples/kv"
	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

type clientOptions struct {
	groupFlags
	timeout time.Duration
}

// argsOf is how many arguments each client command takes.
var argsOf = map[string]struct {
	n     int
	usage string
}{
	"get":         {1, "get KEY"},
	"put":         {2, "put KEY VALUE"},
	"cas":         {3, "cas KEY OLD NEW"},
	"status":      {0, "status"},
	"remove-peer": {1, "remove-peer NAME"},
}

func runClientCmd(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	var opts clientOptions
	fs := flag.NewFlagSet("kvnode "+cmd, flag.ContinueOnError)
	opts.groupFlags.register(fs)
	fs.DurationVar(&opts.timeout, "timeout", 10*time.Second, "give up after this long")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	want := argsOf[cmd]
	if fs.NArg() != want.n {
		return usageError(stderr, "usage: kvnode %s [flags]", want.usage)
	}
	ids, err := opts.peerIDs()
	if err != nil {
		return usageError(stderr, "%v", err)
	}
	if opts.timeout <= 0 {
		return usageError(stderr, "-timeout %v is not positive", opts.timeout)
	}
	conn, err := transport.DialNATS(opts.nats, transport.WithNoEcho(), transport.WithName("kvnode-client"))
	if err != nil {
		return fmt.Errorf("connecting to NATS at %s: %w", opts.nats, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	return runClient(ctx, kv.NewClient(conn, opts.group, ids), cmd, ids, fs.Args(), stdout)
}

// runClient runs one client command and prints its result.
func runClient(ctx context.Context, c *kv.Client, cmd string, ids, args []string, stdout io.Writer) error {
	switch cmd {
	case "get":
		v, found, err := c.Get(ctx, args[0])
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("key %q not found", args[0])
		}
		fmt.Fprintln(stdout, v)
	case "put":
		if err := c.Put(ctx, args[0], args[1]); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "ok")
	case "cas":
		ok, err := c.CompareAndSet(ctx, args[0], args[1], args[2])
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("key %q does not hold %q", args[0], args[1])
		}
		fmt.Fprintln(stdout, "ok")
	case "remove-peer":
		if err := c.RemovePeer(ctx, raftport.NodeID(args[0])); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "ok")
	case "status":
		enc := json.NewEncoder(stdout)
		for _, id := range ids {
			st, err := c.Status(ctx, id, false)
			if err != nil {
				fmt.Fprintf(stdout, "{\"id\":%q,\"error\":%q}\n", id, err.Error())
				continue
			}
			if err := enc.Encode(st); err != nil {
				return err
			}
		}
	}
	return nil
}
