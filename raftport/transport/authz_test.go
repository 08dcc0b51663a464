package transport_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// authConfigFile is the NATS configuration the kv example ships.
const authConfigFile = "../../examples/kv/nats-auth.conf"

const appUser, appPassword = "app", "app-secret"

// nodeKey is the nodes' nkey: its public key goes to the server through
// the environment, its seed to a file the nodes log in with.
type nodeKey struct {
	public   string
	seedFile string
}

func newNodeKey(t *testing.T) nodeKey {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	public, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "node.nk")
	if err := os.WriteFile(file, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return nodeKey{public: public, seedFile: file}
}

func (k nodeKey) option(t *testing.T) nats.Option {
	opt, err := nats.NkeyOptionFromSeed(k.seedFile)
	if err != nil {
		t.Fatal(err)
	}
	return opt
}

// asyncErrors collects what the server reports to a client out of band.
type asyncErrors struct {
	mu   sync.Mutex
	errs []error
}

func (a *asyncErrors) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errs = append(a.errs, err)
}

// wait waits for a permissions violation whose text holds every part.
func (a *asyncErrors) wait(t *testing.T, parts ...string) {
	t.Helper()
	waitFor(t, "a permissions violation naming "+strings.Join(parts, " "), func() error {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, err := range a.errs {
			if !errors.Is(err, nats.ErrPermissionViolation) {
				continue
			}
			lower := strings.ToLower(err.Error())
			if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(lower, strings.ToLower(p)) }) {
				return nil
			}
		}
		return errors.New(errorsText(a.errs))
	})
}

func errorsText(errs []error) string {
	var b strings.Builder
	for _, err := range errs {
		b.WriteString(err.Error() + "; ")
	}
	return "seen: " + b.String()
}

// startAuthorizedNATS runs an embedded server with the example's
// configuration, on a random loopback port.
func startAuthorizedNATS(t *testing.T, key nodeKey) *server.Server {
	t.Setenv("RAFTPORT_NODE_NKEY", key.public)
	t.Setenv("RAFTPORT_APP_PASSWORD", appPassword)
	opts, err := server.ProcessConfigFile(authConfigFile)
	if err != nil {
		t.Fatalf("%s: %v", authConfigFile, err)
	}
	return startNATS(t, opts)
}

func connectClient(t *testing.T, url string, login nats.Option, errs *asyncErrors) (*nats.Conn, error) {
	nc, err := nats.Connect(url, login, nats.ErrorHandler(errs.handler))
	if err == nil {
		t.Cleanup(nc.Close)
	}
	return nc, err
}

// TestAuthorizationKeepsClientsOutOfTheGroup starts a NATS server with the
// kv example's configuration and a 3-node group on the nodes' user. An
// ordinary client is refused, by the server, both a subscription to the
// group's subjects and a forged vote request into them; a wildcard
// subscription of its own never sees the group's traffic; and the group
// commits before and after, at the term it had. The nodes' user is in turn
// confined to the group's subjects.
func TestAuthorizationKeepsClientsOutOfTheGroup(t *testing.T) {
	key := newNodeKey(t)
	s := startAuthorizedNATS(t, key)
	url := s.ClientURL()
	const name = "authz"
	var conns []transport.Conn
	for range 3 {
		c, err := transport.DialNATS(url, transport.WithNoEcho(),
			transport.WithNATSOptions(key.option(t)))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	g := startGroup(t, name, conns)
	g.commit("one")
	before := g.view()

	appErrs := &asyncErrors{}
	app, err := connectClient(t, url, nats.UserInfo(appUser, appPassword), appErrs)
	if err != nil {
		t.Fatalf("the example's app user cannot connect: %v", err)
	}
	groupSubjects := transport.DefaultNATSSubjectPrefix + ".>"
	listened := make(chan *nats.Msg, 16)
	if _, err := app.ChanSubscribe(groupSubjects, listened); err != nil {
		t.Fatal(err)
	}
	appErrs.wait(t, "subscription", groupSubjects)

	var seen []string
	var seenMu sync.Mutex
	if _, err := app.Subscribe(">", func(m *nats.Msg) {
		seenMu.Lock()
		defer seenMu.Unlock()
		seen = append(seen, m.Subject)
	}); err != nil {
		t.Fatal(err)
	}
	top := slices.Max(before.terms) + 100
	vote := transport.DefaultNATSSubjectPrefix + "." + transport.VoteSubject(name)
	if err := app.Publish(vote, forgedVoteRequest(top, top, 1<<40, forgedID)); err != nil {
		t.Fatal(err)
	}
	appErrs.wait(t, "publish", vote)

	g.commit("two")
	if err := app.Publish("app.fence", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the app's own message", func() error {
		seenMu.Lock()
		defer seenMu.Unlock()
		if !slices.Contains(seen, "app.fence") {
			return errors.New("not yet")
		}
		return nil
	})
	seenMu.Lock()
	for _, subj := range seen {
		if strings.HasPrefix(subj, transport.DefaultNATSSubjectPrefix+".") {
			t.Errorf("the app's wildcard subscription received group traffic on %s", subj)
		}
	}
	seenMu.Unlock()
	select {
	case m := <-listened:
		t.Errorf("the refused subscription received %s", m.Subject)
	default:
	}
	after := g.view()
	if after.leader != before.leader || !slices.Equal(after.terms, before.terms) {
		t.Fatalf("the group moved: before %v, after %v", before, after)
	}

	nodeErrs := &asyncErrors{}
	node, err := connectClient(t, url, key.option(t), nodeErrs)
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Publish("app.orders", nil); err != nil {
		t.Fatal(err)
	}
	nodeErrs.wait(t, "publish", "app.orders")

	other := newNodeKey(t)
	for what, login := range map[string]nats.Option{
		"a wrong password": nats.UserInfo(appUser, "wrong"),
		"no credentials":   nats.UserInfo("", ""),
		"another nkey":     other.option(t),
	} {
		if _, err := connectClient(t, url, login, &asyncErrors{}); !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("a client with %s connected or failed otherwise: %v", what, err)
		}
	}
}

// TestAuthorizationConfigNeedsTheNodeKey: without a valid public nkey for
// the nodes the configuration does not load, rather than starting with a
// node user anyone could log in as.
func TestAuthorizationConfigNeedsTheNodeKey(t *testing.T) {
	key := newNodeKey(t)
	seed, err := os.ReadFile(key.seedFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("RAFTPORT_APP_PASSWORD", appPassword)
	for what, value := range map[string]string{"empty": "", "not a key": "UNOTAKEY", "the seed instead": string(seed)} {
		t.Setenv("RAFTPORT_NODE_NKEY", value)
		opts, err := server.ProcessConfigFile(authConfigFile)
		if err == nil {
			t.Errorf("RAFTPORT_NODE_NKEY %s: %s loaded with node user %+v", what, authConfigFile, opts.Nkeys)
		}
	}
	os.Unsetenv("RAFTPORT_NODE_NKEY")
	if _, err := server.ProcessConfigFile(authConfigFile); err == nil || !strings.Contains(err.Error(), "RAFTPORT_NODE_NKEY") {
		t.Errorf("RAFTPORT_NODE_NKEY unset: %v, want an error naming it", err)
	}
}
