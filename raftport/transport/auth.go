package transport

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Message authentication, for groups whose subjects other clients of the
// same NATS account can reach. Every message an AuthConn publishes carries
// a trailer after its data:
//
//	magic[4] "RPA1"
//	sent[8]     sender's clock, Unix nanoseconds
//	session[8]  random, drawn once per AuthConn
//	seq[8]      per AuthConn, from 1
//	tag[32]     HMAC-SHA256 under the group key
//
// The tag covers the subject and the reply subject as the node sees them
// (without the NATS subject prefix), the data, and the first four trailer
// fields. Integers are little endian, like the rest of raftport's formats.
const (
	authMagic      = "RPA1"
	authTagLen     = sha256.Size
	authMetaLen    = len(authMagic) + 8 + 8 + 8
	AuthTrailerLen = authMetaLen + authTagLen
	// MinAuthKeyLen is the shortest group key accepted: HMAC-SHA256 is as
	// strong as its key up to the hash's block, and 32 random bytes put
	// guessing out of reach.
	MinAuthKeyLen = 32
	// DefaultAuthMaxClockSkew bounds how old (or how far in the future) a
	// message's timestamp may be when it arrives.
	DefaultAuthMaxClockSkew = time.Minute
)

// maxAuthClockSkew keeps the replay window meaningful (and the time
// arithmetic far from overflowing).
const maxAuthClockSkew = 24 * time.Hour

// authDomain separates these tags from any other use of the same key.
const authDomain = "raftport transport auth v1\x00"

// AuthConfig configures NewAuthConn. Every member of a group needs the same
// Key (and clocks within MaxClockSkew of each other).
type AuthConfig struct {
	// Key signs what this connection publishes and verifies what it
	// receives; at least MinAuthKeyLen bytes, best drawn from crypto/rand.
	Key []byte
	// AcceptKeys are further keys a received message may be signed with,
	// so that a key can be rotated without stopping the group: first add
	// the new key here on every member, then make it Key everywhere (with
	// the old one here), then drop the old one.
	AcceptKeys [][]byte
	// MaxClockSkew is how far a message's send time may be from the
	// receiver's clock; messages outside it are dropped as stale. It
	// bounds how long a subscriber must remember what it has seen, and
	// how late a captured message can be delivered. Zero means
	// DefaultAuthMaxClockSkew.
	MaxClockSkew time.Duration
	// Logger gets one line the first time a message is dropped for each
	// reason; Stats counts every one. Nil discards.
	Logger *slog.Logger
}

// AuthStats counts what an AuthConn's subscriptions received.
type AuthStats struct {
	Accepted uint64
	// Unsigned messages had no trailer: a member without the key, or a
	// client that is not a member.
	Unsigned uint64
	// BadTag messages were signed with another key or altered on the way.
	BadTag uint64
	// Replayed messages had already reached the same subscription, or came
	// more than 64 messages out of their sender's order.
	Replayed uint64
	// Stale messages were sent more than MaxClockSkew before (or after)
	// the receiver's clock.
	Stale uint64
}

// Dropped is the number of messages refused for any reason.
func (s AuthStats) Dropped() uint64 { return s.Unsigned + s.BadTag + s.Replayed + s.Stale }

// dropReason indexes AuthConn's counters.
type dropReason int

const (
	dropUnsigned dropReason = iota
	dropBadTag
	dropReplayed
	dropStale
	dropReasons
)

var dropText = [dropReasons]string{
	dropUnsigned: "it carries no authentication tag (is every member configured with the group key?)",
	dropBadTag:   "its authentication tag does not verify under the group key",
	dropReplayed: "this subscription already received it (a replay)",
	dropStale:    "its send time is outside the allowed clock skew (a replay, or clocks apart)",
}

// AuthConn signs everything it publishes and delivers to its handlers only
// messages that carry a valid tag under the group key, that this
// subscription has not received before, and that were sent within
// MaxClockSkew. Everything else is dropped and counted (Stats). It wraps
// any Conn, so a host enables it in its ServerConfig.Connect.
//
// What it proves: a delivered message was published, unchanged, on this
// subject with this reply subject by a holder of the key. It does not hide
// what messages say (anyone who can subscribe reads them), and a holder of
// the key is trusted entirely.
type AuthConn struct {
	inner   Conn
	keys    []*authKey // keys[0] signs
	skew    time.Duration
	session uint64
	seq     atomic.Uint64
	log     *slog.Logger
	now     func() time.Time // the clock, replaced by tests

	accepted atomic.Uint64
	dropped  [dropReasons]atomic.Uint64
	logged   [dropReasons]atomic.Bool
}

var _ Conn = (*AuthConn)(nil)

// authKey keeps ready HMAC states for one key: hmac.New costs several
// allocations, Reset none.
type authKey struct {
	pool sync.Pool // of *macState
}

type macState struct {
	mac     hash.Hash
	scratch []byte
	sum     [authTagLen]byte
}

func newAuthKey(key []byte) *authKey {
	key = append([]byte(nil), key...)
	k := &authKey{}
	k.pool.New = func() any { return &macState{mac: hmac.New(sha256.New, key)} }
	return k
}

// tag computes the tag of a message into st.sum.
func (k *authKey) tag(st *macState, subject, reply string, data, meta []byte) []byte {
	st.mac.Reset()
	b := append(st.scratch[:0], authDomain...)
	b = binary.AppendUvarint(b, uint64(len(subject)))
	b = append(b, subject...)
	b = binary.AppendUvarint(b, uint64(len(reply)))
	b = append(b, reply...)
	b = binary.AppendUvarint(b, uint64(len(data)))
	st.scratch = b
	st.mac.Write(b)
	st.mac.Write(data)
	st.mac.Write(meta)
	return st.mac.Sum(st.sum[:0])
}

// NewAuthConn wraps inner; Close closes inner too.
func NewAuthConn(inner Conn, cfg AuthConfig) (*AuthConn, error) {
	if inner == nil {
		return nil, errors.New("transport: nil Conn to authenticate")
	}
	if len(cfg.Key) < MinAuthKeyLen {
		return nil, fmt.Errorf("transport: group key of %d bytes, at least %d are needed", len(cfg.Key), MinAuthKeyLen)
	}
	for i, k := range cfg.AcceptKeys {
		if len(k) < MinAuthKeyLen {
			return nil, fmt.Errorf("transport: accepted key %d has %d bytes, at least %d are needed", i, len(k), MinAuthKeyLen)
		}
	}
	if cfg.MaxClockSkew < 0 || cfg.MaxClockSkew > maxAuthClockSkew {
		return nil, fmt.Errorf("transport: clock skew %v outside [0, %v]", cfg.MaxClockSkew, maxAuthClockSkew)
	}
	if cfg.MaxClockSkew == 0 {
		cfg.MaxClockSkew = DefaultAuthMaxClockSkew
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var session [8]byte
	if _, err := rand.Read(session[:]); err != nil {
		return nil, fmt.Errorf("transport: drawing a session id: %w", err)
	}
	c := &AuthConn{
		inner:   inner,
		skew:    cfg.MaxClockSkew,
		session: binary.LittleEndian.Uint64(session[:]),
		log:     cfg.Logger,
		now:     time.Now,
	}
	for _, k := range append([][]byte{cfg.Key}, cfg.AcceptKeys...) {
		c.keys = append(c.keys, newAuthKey(k))
	}
	return c, nil
}

// Unwrap returns the connection underneath.
func (c *AuthConn) Unwrap() Conn { return c.inner }

// Stats counts the messages this connection's subscriptions accepted and
// dropped since it was made.
func (c *AuthConn) Stats() AuthStats {
	return AuthStats{
		Accepted: c.accepted.Load(),
		Unsigned: c.dropped[dropUnsigned].Load(),
		BadTag:   c.dropped[dropBadTag].Load(),
		Replayed: c.dropped[dropReplayed].Load(),
		Stale:    c.dropped[dropStale].Load(),
	}
}

// Publish sends data with its trailer.
func (c *AuthConn) Publish(subject, reply string, data []byte) error {
	return c.inner.Publish(subject, reply, c.seal(subject, reply, data))
}

// seal returns data followed by its trailer, in a new buffer.
func (c *AuthConn) seal(subject, reply string, data []byte) []byte {
	msg := make([]byte, len(data), len(data)+AuthTrailerLen)
	copy(msg, data)
	msg = append(msg, authMagic...)
	msg = binary.LittleEndian.AppendUint64(msg, uint64(c.now().UnixNano()))
	msg = binary.LittleEndian.AppendUint64(msg, c.session)
	msg = binary.LittleEndian.AppendUint64(msg, c.seq.Add(1))
	k := c.keys[0]
	st := k.pool.Get().(*macState)
	msg = append(msg, k.tag(st, subject, reply, data, msg[len(data):])...)
	k.pool.Put(st)
	return msg
}

// Subscribe delivers to h only the messages that pass; each subscription
// remembers what it received, so a replay to it is dropped.
func (c *AuthConn) Subscribe(subject string, h Handler) (Subscription, error) {
	if h == nil {
		return nil, errors.New("transport: nil handler")
	}
	seen := newReplayFilter()
	return c.inner.Subscribe(subject, func(subject, reply string, data []byte) {
		if payload, ok := c.open(subject, reply, data, seen); ok {
			h(subject, reply, payload)
		}
	})
}

// open checks msg and returns its data without the trailer.
func (c *AuthConn) open(subject, reply string, msg []byte, seen *replayFilter) ([]byte, bool) {
	n := len(msg) - AuthTrailerLen
	if n < 0 || string(msg[n:n+len(authMagic)]) != authMagic {
		return nil, c.drop(dropUnsigned, subject)
	}
	data, meta, tag := msg[:n:n], msg[n:n+authMetaLen], msg[n+authMetaLen:]
	if !c.verify(subject, reply, data, meta, tag) {
		return nil, c.drop(dropBadTag, subject)
	}
	sent := int64(binary.LittleEndian.Uint64(meta[4:]))
	session := binary.LittleEndian.Uint64(meta[12:])
	seq := binary.LittleEndian.Uint64(meta[20:])
	if reason, ok := seen.check(session, seq, sent, c.now().UnixNano(), int64(c.skew)); !ok {
		return nil, c.drop(reason, subject)
	}
	c.accepted.Add(1)
	return data, true
}

func (c *AuthConn) verify(subject, reply string, data, meta, tag []byte) bool {
	for _, k := range c.keys {
		st := k.pool.Get().(*macState)
		ok := hmac.Equal(k.tag(st, subject, reply, data, meta), tag)
		k.pool.Put(st)
		if ok {
			return true
		}
	}
	return false
}

// drop counts a refused message and logs the first of each reason: a
// flood of forgeries must not become a flood of log lines.
func (c *AuthConn) drop(reason dropReason, subject string) bool {
	c.dropped[reason].Add(1)
	if c.logged[reason].CompareAndSwap(false, true) {
		c.log.Warn("transport: dropping a message: "+dropText[reason]+"; further drops are only counted",
			"subject", subject)
	}
	return false
}

// NewInbox returns the inner connection's inbox.
func (c *AuthConn) NewInbox() string { return c.inner.NewInbox() }

// Close closes the inner connection.
func (c *AuthConn) Close() error { return c.inner.Close() }
