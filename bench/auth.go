package bench

import (
	"crypto/rand"
	"fmt"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// AuthDesc says what an authenticated raftport target runs on, for
// reports.
const AuthDesc = "each node's transport connection wrapped in transport.NewAuthConn: an HMAC-SHA256 tag, send time, " +
	"session and sequence number on every message, checked (and replays dropped) on receipt; one 32-byte group key"

// NewAuthKey draws a group key for AuthWrap from crypto/rand.
func NewAuthKey() ([]byte, error) {
	key := make([]byte, transport.MinAuthKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("drawing an auth key: %w", err)
	}
	return key, nil
}

// AuthWrap returns an Options.WrapConn that authenticates every raftport
// node's messages with the group key, as a group on a shared NATS account
// runs. Each AuthConn it makes goes to made, when not nil, so that a
// caller can read its Stats.
func AuthWrap(key []byte, made func(node string, c *transport.AuthConn)) func(node string, c transport.Conn) (transport.Conn, error) {
	return func(node string, c transport.Conn) (transport.Conn, error) {
		ac, err := transport.NewAuthConn(c, transport.AuthConfig{Key: key})
		if err != nil {
			return nil, err
		}
		if made != nil {
			made(node, ac)
		}
		return ac, nil
	}
}
