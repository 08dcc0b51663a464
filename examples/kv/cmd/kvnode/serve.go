package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/porttrack-dev/porttrack/examples/kv"
	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

type serveOptions struct {
	groupFlags
	name     string
	dir      string
	embedded string
	election time.Duration
	snapshot int
	verbose  bool
}

func runServeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var opts serveOptions
	fs := flag.NewFlagSet("kvnode serve", flag.ContinueOnError)
	opts.groupFlags.register(fs)
	fs.StringVar(&opts.name, "name", "", "this replica's name, one of -peers (required)")
	fs.StringVar(&opts.dir, "dir", "", "data directory of this replica (required)")
	fs.StringVar(&opts.embedded, "embedded-nats", "", "start a NATS server in this process on host:port and use it")
	fs.DurationVar(&opts.election, "election-timeout", 0, "minimum election timeout; 0 keeps raftport's default (4s); heartbeats go at a tenth of it")
	fs.IntVar(&opts.snapshot, "snapshot-every", 0, "applied batches between snapshots (0: default, -1: never)")
	fs.BoolVar(&opts.verbose, "v", false, "log raftport's debug messages")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError(stderr, "serve takes no arguments, got %q", fs.Args())
	}
	if opts.name == "" || opts.dir == "" {
		return usageError(stderr, "serve needs -name and -dir")
	}
	ids, err := opts.peerIDs()
	if err != nil {
		return usageError(stderr, "%v", err)
	}
	if !contains(ids, raftport.NodeID(opts.name)) {
		return usageError(stderr, "-name %q is not one of -peers %q", opts.name, opts.peers)
	}
	if opts.embedded != "" {
		if _, _, err := net.SplitHostPort(opts.embedded); err != nil {
			return usageError(stderr, "-embedded-nats %q: %v", opts.embedded, err)
		}
	}
	if opts.election < 0 {
		return usageError(stderr, "-election-timeout %v is negative", opts.election)
	}
	return runServe(ctx, opts, ids, stdout, stderr)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// startEmbeddedNATS runs a NATS server in this process.
func startEmbeddedNATS(hostPort string) (*server.Server, error) {
	host, portStr, _ := net.SplitHostPort(hostPort)
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("-embedded-nats port %q: %v", portStr, err)
	}
	ns, err := server.NewServer(&server.Options{Host: host, Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		return nil, err
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded NATS server on %s did not start", hostPort)
	}
	return ns, nil
}

func runServe(ctx context.Context, opts serveOptions, ids []string, stdout, stderr io.Writer) (err error) {
	url := opts.nats
	if opts.embedded != "" {
		ns, err := startEmbeddedNATS(opts.embedded)
		if err != nil {
			return err
		}
		defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
		url = ns.ClientURL()
	}
	conn, err := transport.DialNATS(url, transport.WithNoEcho(), transport.WithName("kvnode-"+opts.name))
	if err != nil {
		return fmt.Errorf("connecting to NATS at %s: %w", url, err)
	}
	defer conn.Close()

	level := slog.LevelInfo
	if opts.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	host, err := raftport.NewServer(raftport.ServerConfig{
		Name:    opts.name,
		Connect: func(string) (transport.Conn, error) { return conn, nil },
		Timing:  kv.Timing(opts.election),
		Logger:  logger,
		Debug:   opts.verbose,
	})
	if err != nil {
		return err
	}
	defer host.Shutdown()

	walDir := filepath.Join(opts.dir, "wal")
	wal, err := storage.OpenFileWAL(walDir, storage.WALOptions{})
	if err != nil {
		return fmt.Errorf("refusing to start: the log in %s cannot be used: %w (see the README, \"Recovering a damaged replica\")", walDir, err)
	}
	node, err := kv.Start(kv.Config{
		Host: host, Group: opts.group, Peers: ids, Dir: filepath.Join(opts.dir, "raft"),
		Log: wal, SnapshotEvery: opts.snapshot, Logger: logger,
	})
	if err != nil {
		// The node did not take the log: close it here.
		return errors.Join(fmt.Errorf("refusing to start: %w (see the README, \"Recovering a damaged replica\")", err), ignoreClosed(wal.Close()))
	}
	defer node.Stop()
	svc, err := kv.Serve(node, conn, opts.group, 0)
	if err != nil {
		return err
	}
	defer svc.Close()
	fmt.Fprintf(stdout, "kvnode %s (node %s) serving group %q via %s\n", opts.name, node.ID(), opts.group, url)
	<-ctx.Done()
	return nil
}

func ignoreClosed(err error) error {
	if errors.Is(err, storage.ErrClosed) {
		return nil
	}
	return err
}
