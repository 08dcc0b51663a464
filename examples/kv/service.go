package kv

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// Subject is where the replica with node ID id of group serves requests.
func Subject(group, id string) string { return "kv." + group + "." + id }

// request is what a client sends: a command, or a look at the replica.
type request struct {
	Command
	// Local, when set, asks for the replica's own state instead of
	// running a command: "status", "status+sessions" or "read" (ReadLocal
	// of Key, not linearizable); or, of the leader, "remove-peer" (Key
	// names the node ID to remove from the group).
	Local string `json:"local,omitempty"`
}

// response is a replica's answer.
type response struct {
	Result Result  `json:"result"`
	Status *Status `json:"status,omitempty"`
	// Error is "" on success, or one of the outcome codes below.
	Error string `json:"error,omitempty"`
	// Leader names the leader a non-leader follows, "" if none.
	Leader string `json:"leader,omitempty"`
}

// Outcome codes on the wire, one per exported error.
const (
	codeNotLeader = "not_leader"
	codeUnknown   = "unknown"
	codeStopped   = "stopped"
)

func codeOf(err error) string {
	switch {
	case errors.Is(err, ErrNotLeader):
		return codeNotLeader
	case errors.Is(err, ErrStopped):
		return codeStopped
	default:
		// Any other failure (a storage error, say) leaves the outcome
		// as unknown to the client as a timeout does.
		return codeUnknown
	}
}

func errOf(code string) error {
	switch code {
	case "":
		return nil
	case codeNotLeader:
		return ErrNotLeader
	case codeStopped:
		return ErrStopped
	default:
		return ErrOutcomeUnknown
	}
}

// DefaultCommandTimeout bounds how long a replica waits for one command's
// outcome before it answers unknown.
const DefaultCommandTimeout = 5 * time.Second

// Service answers clients for one replica on a connection.
type Service struct {
	node    *Node
	conn    transport.Conn
	sub     transport.Subscription
	timeout time.Duration
	ctx     context.Context
	cancel  context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// Serve answers requests for node on conn until Close. Each request runs
// on its own goroutine; a command waits at most timeout (0 means
// DefaultCommandTimeout) for its outcome.
func Serve(node *Node, conn transport.Conn, group string, timeout time.Duration) (*Service, error) {
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{node: node, conn: conn, timeout: timeout, ctx: ctx, cancel: cancel}
	sub, err := conn.Subscribe(Subject(group, node.ID()), s.handle)
	if err != nil {
		cancel()
		return nil, err
	}
	s.sub = sub
	return s, nil
}

func (s *Service) handle(_, reply string, data []byte) {
	if reply == "" {
		return
	}
	var req request
	if err := json.Unmarshal(data, &req); err != nil {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		resp := s.answer(req)
		out, err := json.Marshal(resp)
		if err != nil {
			return
		}
		// A lost answer is a timeout for the client, which retries.
		_ = s.conn.Publish(reply, "", out)
	}()
}

func (s *Service) answer(req request) response {
	switch req.Local {
	case "status", "status+sessions":
		st := s.node.Status(req.Local == "status+sessions")
		return response{Status: &st}
	case "read":
		return response{Result: s.node.ReadLocal(req.Key)}
	case "remove-peer":
		if !s.node.Leader() {
			return response{Error: codeNotLeader, Leader: s.node.LeaderID()}
		}
		if err := s.node.Raft().ProposeRemovePeer(req.Key); err != nil {
			return response{Error: codeOf(err), Leader: s.node.LeaderID()}
		}
		return response{Result: Result{OK: true}}
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	defer cancel()
	r, err := s.node.Do(ctx, req.Command)
	if err != nil {
		return response{Error: codeOf(err), Leader: s.node.LeaderID()}
	}
	return response{Result: r}
}

// Close stops answering and waits for the requests in progress.
func (s *Service) Close() {
	if s.sub != nil {
		_ = s.sub.Unsubscribe()
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}
