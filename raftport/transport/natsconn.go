package transport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// ErrDisconnected is wrapped by Publish errors while the NATS connection is
// down and the reconnect buffer is off (the default) or full.
var ErrDisconnected = errors.New("transport: disconnected from NATS")

// NATSEvent is a change in a NATS connection's state.
type NATSEvent int

const (
	// NATSDisconnected: the connection was lost; reconnecting starts.
	NATSDisconnected NATSEvent = iota + 1
	// NATSReconnected: the connection is back and subscriptions were resent.
	NATSReconnected
	// NATSClosed: the connection is closed for good.
	NATSClosed
	// NATSAsyncError: the server or client reported an error out of band,
	// such as a slow consumer dropping messages.
	NATSAsyncError
)

var natsEventNames = map[NATSEvent]string{
	NATSDisconnected: "disconnected",
	NATSReconnected:  "reconnected",
	NATSClosed:       "closed",
	NATSAsyncError:   "async error",
}

func (e NATSEvent) String() string {
	if name, ok := natsEventNames[e]; ok {
		return name
	}
	return fmt.Sprintf("NATSEvent(%d)", int(e))
}

// natsConfig collects NATSOptions. Options that shape the nats.Conn itself
// are only meaningful to DialNATS; NewNATS rejects them by name.
type natsConfig struct {
	prefix         string
	flushTimeout   time.Duration
	reconnectWait  time.Duration
	reconnectJit   time.Duration
	reconnectBuf   int
	pingInterval   time.Duration
	name           string
	noEcho         bool
	onEvent        func(NATSEvent, error)
	extra          []nats.Option
	dialOnlyPassed []string
	err            error
}

// NATSOption configures DialNATS or NewNATS.
type NATSOption func(*natsConfig)

// Defaults favour a Raft group: a node should be back quickly, and a dead
// server should be noticed well within a few election timeouts.
const (
	DefaultNATSReconnectWait   = 100 * time.Millisecond
	DefaultNATSReconnectJitter = 50 * time.Millisecond
	DefaultNATSPingInterval    = 5 * time.Second
	DefaultNATSFlushTimeout    = 2 * time.Second
)

func dialOnly(name string, set func(*natsConfig)) NATSOption {
	return func(c *natsConfig) {
		c.dialOnlyPassed = append(c.dialOnlyPassed, name)
		set(c)
	}
}

// DefaultNATSSubjectPrefix is where raftport's NRG subjects live on a NATS
// deployment. The server reserves "$NRG." for its own Raft and refuses
// client publishes there outside the system account, and a raftport group
// must not mix with the server's own groups anyway.
const DefaultNATSSubjectPrefix = "raftport"

// WithSubjectPrefix puts every subject and reply of this connection under
// prefix ("acct.$NRG.V.g") instead of DefaultNATSSubjectPrefix, and strips
// it from what handlers see. Groups with different prefixes share a NATS
// deployment without seeing each other's traffic; this is the seam the
// reference uses when it moves a group's NRG traffic into another account.
// Every member of a group must use the same prefix. An empty prefix sends
// the bare "$NRG." subjects, which the server accepts only from a
// system-account connection.
func WithSubjectPrefix(prefix string) NATSOption {
	return func(c *natsConfig) {
		if prefix != "" {
			if err := checkSubject(prefix, false); err != nil {
				c.err = fmt.Errorf("subject prefix: %w", err)
				return
			}
		}
		c.prefix = prefix
	}
}

// WithFlushTimeout bounds the round trips of Subscribe, Flush and Close.
func WithFlushTimeout(d time.Duration) NATSOption {
	return func(c *natsConfig) {
		if d <= 0 {
			c.err = fmt.Errorf("transport: flush timeout %v is not positive", d)
			return
		}
		c.flushTimeout = d
	}
}

// WithReconnectWait sets the pause between reconnect attempts and the
// random jitter added to it. Reconnecting never gives up.
func WithReconnectWait(wait, jitter time.Duration) NATSOption {
	return dialOnly("WithReconnectWait", func(c *natsConfig) {
		if wait <= 0 || jitter < 0 {
			c.err = fmt.Errorf("transport: reconnect wait %v and jitter %v must be positive and non-negative", wait, jitter)
			return
		}
		c.reconnectWait, c.reconnectJit = wait, jitter
	})
}

// WithReconnectBuffer makes Publish buffer up to size bytes while
// disconnected and send them after reconnecting, instead of failing with
// ErrDisconnected. Buffered Raft messages arrive late, which Raft tolerates.
func WithReconnectBuffer(size int) NATSOption {
	return dialOnly("WithReconnectBuffer", func(c *natsConfig) {
		if size <= 0 {
			c.err = fmt.Errorf("transport: reconnect buffer size %d is not positive", size)
			return
		}
		c.reconnectBuf = size
	})
}

// WithPingInterval sets how often the client pings the server; two missed
// pongs count as a lost connection.
func WithPingInterval(d time.Duration) NATSOption {
	return dialOnly("WithPingInterval", func(c *natsConfig) {
		if d <= 0 {
			c.err = fmt.Errorf("transport: ping interval %v is not positive", d)
			return
		}
		c.pingInterval = d
	})
}

// WithName names the connection in the server's monitoring.
func WithName(name string) NATSOption {
	return dialOnly("WithName", func(c *natsConfig) { c.name = name })
}

// WithNoEcho keeps this connection's publishes from its own subscriptions,
// as the reference's send queue never hands a node its own messages back.
// Every node sharing the connection is then deaf to the others, which is
// harmless as long as they are in different groups.
func WithNoEcho() NATSOption {
	return dialOnly("WithNoEcho", func(c *natsConfig) { c.noEcho = true })
}

// WithEventHandler is called, from a nats.go goroutine, on every connection
// state change.
func WithEventHandler(f func(NATSEvent, error)) NATSOption {
	return dialOnly("WithEventHandler", func(c *natsConfig) {
		if f == nil {
			c.err = errors.New("transport: nil event handler")
			return
		}
		c.onEvent = f
	})
}

// WithNATSOptions passes options straight to nats.Connect (credentials,
// TLS, several server URLs); they are applied after raftport's own.
func WithNATSOptions(opts ...nats.Option) NATSOption {
	return dialOnly("WithNATSOptions", func(c *natsConfig) { c.extra = append(c.extra, opts...) })
}

func buildNATSConfig(opts []NATSOption) (*natsConfig, error) {
	c := &natsConfig{
		prefix:        DefaultNATSSubjectPrefix,
		flushTimeout:  DefaultNATSFlushTimeout,
		reconnectWait: DefaultNATSReconnectWait,
		reconnectJit:  DefaultNATSReconnectJitter,
		reconnectBuf:  -1, // nats.go's spelling of "no buffer"
		pingInterval:  DefaultNATSPingInterval,
	}
	for _, o := range opts {
		o(c)
		if c.err != nil {
			return nil, c.err
		}
	}
	return c, nil
}

// NATSConn is a Conn over a NATS connection.
//
// Subscriptions survive reconnects: nats.go resends them. Publish while
// disconnected fails with ErrDisconnected unless WithReconnectBuffer is
// given; messages written just before the loss is detected may be lost
// either way, which Raft's retries cover.
type NATSConn struct {
	nc           *nats.Conn
	owned        bool
	prefix       string // with its trailing '.', or empty
	flushTimeout time.Duration

	mu     sync.Mutex
	closed bool
	subs   map[*natsSub]struct{}
}

// DialNATS connects to url (a comma-separated list is allowed) and keeps
// reconnecting forever after a loss. The first connection must succeed
// (pass nats.RetryOnFailedConnect through WithNATSOptions to start without
// a server). Close closes the nats.Conn.
func DialNATS(url string, opts ...NATSOption) (*NATSConn, error) {
	cfg, err := buildNATSConfig(opts)
	if err != nil {
		return nil, err
	}
	natsOpts := []nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(cfg.reconnectWait),
		nats.ReconnectJitter(cfg.reconnectJit, cfg.reconnectJit),
		nats.ReconnectBufSize(cfg.reconnectBuf),
		nats.PingInterval(cfg.pingInterval),
		nats.MaxPingsOutstanding(2),
	}
	if cfg.noEcho {
		natsOpts = append(natsOpts, nats.NoEcho())
	}
	if cfg.name != "" {
		natsOpts = append(natsOpts, nats.Name(cfg.name))
	}
	if f := cfg.onEvent; f != nil {
		natsOpts = append(natsOpts,
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { f(NATSDisconnected, err) }),
			nats.ReconnectHandler(func(*nats.Conn) { f(NATSReconnected, nil) }),
			nats.ClosedHandler(func(*nats.Conn) { f(NATSClosed, nil) }),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { f(NATSAsyncError, err) }),
		)
	}
	natsOpts = append(natsOpts, cfg.extra...)
	nc, err := nats.Connect(url, natsOpts...)
	if err != nil {
		return nil, fmt.Errorf("transport: connect to NATS at %s: %w", url, err)
	}
	return newNATSConn(nc, cfg, true), nil
}

// NewNATS wraps a connection the caller made and keeps owning: Close
// removes this Conn's subscriptions but leaves nc open. Reconnect behaviour
// is whatever nc was configured with.
func NewNATS(nc *nats.Conn, opts ...NATSOption) (*NATSConn, error) {
	if nc == nil {
		return nil, errors.New("transport: nil nats.Conn")
	}
	cfg, err := buildNATSConfig(opts)
	if err != nil {
		return nil, err
	}
	if len(cfg.dialOnlyPassed) > 0 {
		return nil, fmt.Errorf("transport: %s applies only to DialNATS", strings.Join(cfg.dialOnlyPassed, ", "))
	}
	if nc.IsClosed() {
		return nil, ErrClosed
	}
	return newNATSConn(nc, cfg, false), nil
}

func newNATSConn(nc *nats.Conn, cfg *natsConfig, owned bool) *NATSConn {
	c := &NATSConn{nc: nc, owned: owned, flushTimeout: cfg.flushTimeout, subs: make(map[*natsSub]struct{})}
	if cfg.prefix != "" {
		c.prefix = cfg.prefix + "."
	}
	return c
}

// NATS returns the underlying connection, for status and statistics.
func (c *NATSConn) NATS() *nats.Conn { return c.nc }

func (c *NATSConn) addPrefix(subject string) string {
	if subject == "" {
		return ""
	}
	return c.prefix + subject
}

func (c *NATSConn) stripPrefix(subject string) string {
	return strings.TrimPrefix(subject, c.prefix)
}

func (c *NATSConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Publish hands the message to nats.go, which writes it asynchronously.
func (c *NATSConn) Publish(subject, reply string, data []byte) error {
	if err := checkSubject(subject, false); err != nil {
		return err
	}
	if reply != "" {
		if err := checkSubject(reply, false); err != nil {
			return fmt.Errorf("reply: %w", err)
		}
	}
	if c.isClosed() {
		return ErrClosed
	}
	return c.mapError(c.nc.PublishMsg(&nats.Msg{Subject: c.addPrefix(subject), Reply: c.addPrefix(reply), Data: data}))
}

func (c *NATSConn) mapError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining):
		return ErrClosed
	case errors.Is(err, nats.ErrReconnectBufExceeded):
		return fmt.Errorf("%w: %v", ErrDisconnected, err)
	}
	return fmt.Errorf("transport: nats: %w", err)
}

// Subscribe registers h and, when connected, waits for the server to
// confirm, so a message published by any node after Subscribe returns is
// delivered. While disconnected it returns at once; nats.go sends the
// subscription on reconnect.
func (c *NATSConn) Subscribe(subject string, h Handler) (Subscription, error) {
	if err := checkSubject(subject, true); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("transport: nil handler")
	}
	if c.isClosed() {
		return nil, ErrClosed
	}
	s := &natsSub{conn: c, subject: subject}
	ns, err := c.nc.Subscribe(c.addPrefix(subject), func(m *nats.Msg) {
		h(c.stripPrefix(m.Subject), c.stripPrefix(m.Reply), m.Data)
	})
	if err != nil {
		return nil, c.mapError(err)
	}
	s.ns = ns
	if err := c.nc.FlushTimeout(c.flushTimeout); err != nil && !c.nc.IsReconnecting() {
		return nil, errors.Join(fmt.Errorf("transport: confirm subscription to %s: %w", subject, c.mapError(err)), ns.Unsubscribe())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		// Close ran during the round trip and did not see this one.
		return nil, errors.Join(ErrClosed, ignoreClosed(ns.Unsubscribe()))
	}
	c.subs[s] = struct{}{}
	return s, nil
}

// ignoreClosed treats unsubscribing from a closed nats.Conn as done.
func ignoreClosed(err error) error {
	if errors.Is(err, nats.ErrConnectionClosed) {
		return nil
	}
	return err
}

// NewInbox returns a reply inbox in the reference's format; 62^8 random
// names make a clash between nodes as unlikely as in the reference.
func (c *NATSConn) NewInbox() string { return ReplyInbox(inboxSuffix(rand.Uint64())) }

// Flush waits until the server has processed everything this connection
// sent so far.
func (c *NATSConn) Flush() error {
	if c.isClosed() {
		return ErrClosed
	}
	return c.mapError(c.nc.FlushTimeout(c.flushTimeout))
}

// Close stops every handler of this Conn. A dialled connection first
// flushes what was published, when connected, then closes; received
// messages still waiting for their handler are dropped.
func (c *NATSConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.closed = true
	subs := c.subs
	c.subs = nil
	c.mu.Unlock()
	if c.owned {
		var flushErr error
		if c.nc.IsConnected() {
			flushErr = c.nc.FlushTimeout(c.flushTimeout)
		}
		c.nc.Close()
		if flushErr != nil {
			return fmt.Errorf("transport: close: unflushed messages may be lost: %w", flushErr)
		}
		return nil
	}
	var errs []error
	for s := range subs {
		errs = append(errs, ignoreClosed(s.ns.Unsubscribe()))
	}
	return errors.Join(errs...)
}

type natsSub struct {
	conn    *NATSConn
	subject string
	ns      *nats.Subscription
}

func (s *natsSub) Subject() string { return s.subject }

// Unsubscribe stops delivery; nats.go drops messages already queued.
func (s *natsSub) Unsubscribe() error {
	c := s.conn
	c.mu.Lock()
	_, live := c.subs[s]
	delete(c.subs, s)
	c.mu.Unlock()
	if !live {
		return ErrClosed
	}
	return c.mapError(s.ns.Unsubscribe())
}
