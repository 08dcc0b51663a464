package faults

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// Subject prefixes the tap tells apart (raftport's NRG subjects).
const (
	voteSubjects    = "$NRG.V."
	catchupSubjects = "$NRG.CR."
)

// wireLog records what every node publishes, from outside raftport: the
// catchup streams (for the catchup bound and the counters) and the vote
// requests (elections). It works on any transport, since it wraps the
// connection a host is given.
type wireLog struct {
	start time.Time

	mu       sync.Mutex
	requests map[string]string         // catchup inbox -> follower that asked for it
	streams  map[string]*catchupStream // catchup inbox -> what the leader sent there
	votes    uint64
}

// catchupStream is one catchup: a leader streaming log entries to the
// inbox a follower asked on.
type catchupStream struct {
	inbox    string
	leader   string
	follower string
	first    time.Duration
	last     time.Duration
	messages uint64
}

func newWireLog() *wireLog {
	return &wireLog{start: time.Now(), requests: map[string]string{}, streams: map[string]*catchupStream{}}
}

func (w *wireLog) record(from, subject, reply string) {
	isCatchup := strings.HasPrefix(subject, catchupSubjects)
	asks := strings.HasPrefix(reply, catchupSubjects)
	isVote := strings.HasPrefix(subject, voteSubjects)
	if !isCatchup && !asks && !isVote {
		return
	}
	at := time.Since(w.start)
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case asks:
		w.requests[reply] = from
	case isVote:
		w.votes++
	case isCatchup:
		s := w.streams[subject]
		if s == nil {
			s = &catchupStream{inbox: subject, leader: from, follower: w.requests[subject], first: at}
			w.streams[subject] = s
		}
		s.last = at
		s.messages++
	}
}

// tapConn is a host's connection as the suite gives it: every publish is
// recorded, and kill cuts the connection dead at once (a crashed process
// sends and receives nothing more, whatever its goroutines still do).
type tapConn struct {
	transport.Conn
	id   string
	log  *wireLog
	dead atomic.Bool
}

func newTapConn(c transport.Conn, id string, log *wireLog) *tapConn {
	return &tapConn{Conn: c, id: id, log: log}
}

func (c *tapConn) kill() { c.dead.Store(true) }

func (c *tapConn) Publish(subject, reply string, data []byte) error {
	if c.dead.Load() {
		return nil
	}
	c.log.record(c.id, subject, reply)
	return c.Conn.Publish(subject, reply, data)
}

func (c *tapConn) Subscribe(subject string, h transport.Handler) (transport.Subscription, error) {
	return c.Conn.Subscribe(subject, func(subject, reply string, data []byte) {
		if !c.dead.Load() {
			h(subject, reply, data)
		}
	})
}
