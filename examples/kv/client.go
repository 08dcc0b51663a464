package kv

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// DefaultAttemptTimeout is how long a client waits for one replica's
// answer before it tries another.
const DefaultAttemptTimeout = time.Second

// Client sends commands to a group's replicas over a connection. It finds
// the leader by asking, and retries a command until it has a definite
// outcome or its context ends; a retried command keeps its Seq, so it is
// applied once. A Client is one session: it sends one command at a time
// (concurrent calls wait their turn); use several Clients for parallelism.
type Client struct {
	conn    transport.Conn
	group   string
	nodes   []string
	attempt time.Duration
	backoff time.Duration

	mu     sync.Mutex
	id     uint64
	seq    uint64
	target int // index into nodes of the replica to try first
	stats  ClientStats
}

// ClientStats count what a client's attempts met, which explains where
// its time went under faults.
type ClientStats struct {
	Attempts  uint64 // requests sent to a replica
	NotLeader uint64 // answered: not the leader
	Unknown   uint64 // answered: outcome unknown or node stopped (the leader lost the command, or could not tell)
	NoAnswer  uint64 // no answer within the attempt timeout
}

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Seq is the Seq of the client's last command: with ID it names that
// command in a replica's Status().Sessions.
func (c *Client) Seq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// ClientOption configures NewClient.
type ClientOption func(*Client)

// WithAttemptTimeout sets how long one replica gets to answer.
func WithAttemptTimeout(d time.Duration) ClientOption { return func(c *Client) { c.attempt = d } }

// WithRetryBackoff sets the pause before asking again when no replica
// leads (default 20ms).
func WithRetryBackoff(d time.Duration) ClientOption { return func(c *Client) { c.backoff = d } }

// NewClient returns a client of group, whose replicas have the given node
// IDs. Its session ID is random, so two clients never share a session.
func NewClient(conn transport.Conn, group string, nodes []string, opts ...ClientOption) *Client {
	var id [8]byte
	rand.Read(id[:])
	c := &Client{
		conn: conn, group: group, nodes: slices.Clone(nodes),
		attempt: DefaultAttemptTimeout, backoff: 20 * time.Millisecond,
		id: binary.BigEndian.Uint64(id[:]) | 1, // 0 is never a session
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// ID is the client's session ID.
func (c *Client) ID() uint64 { return c.id }

// Get returns the value of key and whether it exists.
func (c *Client) Get(ctx context.Context, key string) (string, bool, error) {
	r, err := c.Do(ctx, Command{Op: OpGet, Key: key})
	return r.Value, r.Found, err
}

// Put sets key to value.
func (c *Client) Put(ctx context.Context, key, value string) error {
	_, err := c.Do(ctx, Command{Op: OpPut, Key: key, Value: value})
	return err
}

// CompareAndSet sets key to value if it exists and holds old, and reports
// whether it did.
func (c *Client) CompareAndSet(ctx context.Context, key, old, value string) (bool, error) {
	r, err := c.Do(ctx, Command{Op: OpCAS, Key: key, Old: old, Value: value})
	return r.OK, err
}

// Do runs cmd (its Client and Seq are set here) and returns its result.
// An error other than the context's means no replica gave a definite
// answer in time: the command may or may not have been applied
// (ErrOutcomeUnknown), and a later command of this client supersedes it.
func (c *Client) Do(ctx context.Context, cmd Command) (Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	cmd.Client, cmd.Seq = c.id, c.seq
	body, err := json.Marshal(request{Command: cmd})
	if err != nil {
		return Result{}, err
	}
	return c.untilDefinite(ctx, body)
}

// RemovePeer asks the leader to remove the node with ID id from the
// group, for replacing a replica that cannot be repaired. It returns once
// the leader proposed it; the change commits as any entry does.
func (c *Client) RemovePeer(ctx context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	body, err := json.Marshal(request{Local: "remove-peer", Command: Command{Key: id}})
	if err != nil {
		return err
	}
	_, err = c.untilDefinite(ctx, body)
	return err
}

// untilDefinite sends body to the replicas, following the leader, until
// one gives a definite answer or ctx ends. c.mu is held.
func (c *Client) untilDefinite(ctx context.Context, body []byte) (Result, error) {
	for {
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrOutcomeUnknown, ctx.Err())
		}
		c.stats.Attempts++
		resp, err := c.ask(ctx, c.nodes[c.target], body)
		if err == nil {
			if err = errOf(resp.Error); err == nil {
				return resp.Result, nil
			}
		}
		switch {
		case errors.Is(err, ErrNotLeader):
			c.stats.NotLeader++
		case errors.Is(err, ErrOutcomeUnknown), errors.Is(err, ErrStopped):
			c.stats.Unknown++
		case errors.Is(err, errNoAnswer):
			c.stats.NoAnswer++
		}
		if hint := slices.Index(c.nodes, resp.Leader); hint >= 0 && hint != c.target {
			c.target = hint
			continue
		}
		c.target = (c.target + 1) % len(c.nodes)
		if errors.Is(err, ErrNotLeader) {
			// Nobody we asked knows a leader: an election is under way.
			select {
			case <-time.After(c.backoff):
			case <-ctx.Done():
			}
		}
	}
}

// Status asks one replica for its local state; withSessions adds which
// commands of every client it applied.
func (c *Client) Status(ctx context.Context, node string, withSessions bool) (Status, error) {
	local := "status"
	if withSessions {
		local = "status+sessions"
	}
	body, _ := json.Marshal(request{Local: local})
	resp, err := c.ask(ctx, node, body)
	if err != nil {
		return Status{}, err
	}
	if resp.Status == nil {
		return Status{}, fmt.Errorf("kv: %s sent no status", node)
	}
	return *resp.Status, nil
}

// ReadLocal asks one replica for its own value of key, which may be stale
// (see Node.ReadLocal): not linearizable.
func (c *Client) ReadLocal(ctx context.Context, node, key string) (Result, error) {
	body, _ := json.Marshal(request{Local: "read", Command: Command{Key: key}})
	resp, err := c.ask(ctx, node, body)
	return resp.Result, err
}

var errNoAnswer = errors.New("kv: no answer")

// ask sends one request to one replica and waits for its answer.
func (c *Client) ask(ctx context.Context, node string, body []byte) (response, error) {
	inbox := c.conn.NewInbox()
	answers := make(chan []byte, 1)
	sub, err := c.conn.Subscribe(inbox, func(_, _ string, data []byte) {
		select {
		case answers <- data:
		default:
		}
	})
	if err != nil {
		return response{}, err
	}
	defer sub.Unsubscribe()
	if err := c.conn.Publish(Subject(c.group, node), inbox, body); err != nil {
		return response{}, err
	}
	timer := time.NewTimer(c.attempt)
	defer timer.Stop()
	select {
	case data := <-answers:
		var resp response
		if err := json.Unmarshal(data, &resp); err != nil {
			return response{}, fmt.Errorf("kv: bad answer from %s: %w", node, err)
		}
		return resp, nil
	case <-timer.C:
		return response{}, fmt.Errorf("%w from %s within %v", errNoAnswer, node, c.attempt)
	case <-ctx.Done():
		return response{}, ctx.Err()
	}
}
