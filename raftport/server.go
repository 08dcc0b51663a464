package raftport

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"sync"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// ServerConfig describes a host of Raft nodes. In the NATS server this is
// the server itself; here it is whatever process embeds raftport.
type ServerConfig struct {
	// Name identifies the host; node IDs derive from it, so it must be
	// unique in every group the host joins and stable across restarts.
	Name    string
	Cluster string
	// Connect returns the connection a group's traffic travels on, for the
	// account the group is bound to. Hosts that do not separate accounts
	// return the same connection for every account.
	Connect func(account string) (transport.Conn, error)
	// SystemAccount names the account whose connection carries groups that
	// are not bound to an account of their own. Default "$SYS".
	SystemAccount string
	// NRGInAssetAccount lets a group's traffic travel in its own account
	// instead of the system account (the reference's account NRG setting).
	NRGInAssetAccount bool
	// MaxStorageBytes bounds the bytes of all tracked nodes' WALs; past it
	// tracked nodes report being out of resources. 0 means no bound.
	MaxStorageBytes uint64
	Logger          *slog.Logger
	Debug           bool
	Timing          Timing
	// Peers maps node IDs to their hosts' names and clusters, for logs and
	// for placement decisions (serverNameForNode, clusterNameForNode).
	Peers map[string]PeerInfo
}

// PeerInfo is what a host knows of another host.
type PeerInfo struct {
	Name    string
	Cluster string
}

// Server owns a set of Raft nodes, their storage and their transport.
type Server struct {
	mu        sync.RWMutex
	cfg       ServerConfig
	id        string // node ID of every node this host runs
	log       *slog.Logger
	timing    Timing
	raftNodes map[string]RaftNode
	nodeInfo  map[string]PeerInfo
	quitCh    chan struct{}
	shutdown  bool
}

var errNoServerName = errors.New("raft: server name is required")

// nodeIDFor derives the 8-character node ID of a host name, as the
// reference derives it from the server name's hash.
func nodeIDFor(name string) string {
	sum := sha256.Sum256([]byte(name))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:idLen]
}

// NewServer creates a host. It starts no node.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Name == "" {
		return nil, errNoServerName
	}
	if cfg.Connect == nil {
		return nil, errors.New("raft: ServerConfig.Connect is required")
	}
	if cfg.SystemAccount == "" {
		cfg.SystemAccount = "$SYS"
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:       cfg,
		id:        nodeIDFor(cfg.Name),
		log:       logger.With("server", cfg.Name),
		timing:    cfg.Timing.withDefaults(),
		raftNodes: make(map[string]RaftNode),
		nodeInfo:  make(map[string]PeerInfo),
		quitCh:    make(chan struct{}),
	}
	s.nodeInfo[s.id] = PeerInfo{Name: cfg.Name, Cluster: cfg.Cluster}
	for id, pi := range cfg.Peers {
		s.nodeInfo[id] = pi
	}
	return s, nil
}

// ID is the node ID this host's nodes use.
func (s *Server) ID() string { return s.id }

// Name is the host's name.
func (s *Server) Name() string { return s.cfg.Name }

// NodeID returns the node ID a host of the given name uses, so that peer
// lists can be built before the hosts exist.
func NodeID(serverName string) string { return nodeIDFor(serverName) }

// BootstrapRaftNode writes the initial peer state of a new group member
// into cfg.Store. knownPeers are node IDs; allPeersKnown says whether the
// list is the whole group.
func (s *Server) BootstrapRaftNode(cfg *RaftConfig, knownPeers []string, allPeersKnown bool) error {
	return s.bootstrapRaftNode(cfg, knownPeers, allPeersKnown)
}

// StartRaftNode creates a node for cfg, recovers its state and starts its
// run loop. accName selects the account its traffic travels in ("" for the
// system account).
func (s *Server) StartRaftNode(accName string, cfg *RaftConfig) (RaftNode, error) {
	return s.startRaftNode(accName, cfg)
}

// LookupRaftNode returns the node of a group, or nil.
func (s *Server) LookupRaftNode(group string) RaftNode { return s.lookupRaftNode(group) }

// StepdownRaftNodes asks every leader on this host to step down.
func (s *Server) StepdownRaftNodes() { s.stepdownRaftNodes() }

// TransferRaftLeaders moves leadership of every group off this host and
// reports whether any group had to move.
func (s *Server) TransferRaftLeaders() bool { return s.transferRaftLeaders() }

// Shutdown stops every node of this host.
func (s *Server) Shutdown() {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return
	}
	s.shutdown = true
	close(s.quitCh)
	s.mu.Unlock()
	s.shutdownRaftNodes()
}

func (s *Server) bootstrapRaftNode(cfg *RaftConfig, knownPeers []string, allPeersKnown bool) error {
	panic("unported: feature 2600")
}

func (s *Server) initRaftNode(accName string, cfg *RaftConfig) (*raft, error) {
	panic("unported: feature 2601")
}

func (s *Server) startRaftNode(accName string, cfg *RaftConfig) (RaftNode, error) {
	panic("unported: feature 2602")
}

func (s *Server) serverNameForNode(node string) string {
	panic("unported: feature 2609")
}

func (s *Server) clusterNameForNode(node string) string {
	panic("unported: feature 2610")
}

func (s *Server) registerRaftNode(group string, n RaftNode) {
	panic("unported: feature 2611")
}

func (s *Server) unregisterRaftNode(group string) {
	panic("unported: feature 2612")
}

func (s *Server) numRaftNodes() int {
	panic("unported: feature 2613")
}

func (s *Server) lookupRaftNode(group string) RaftNode {
	panic("unported: feature 2614")
}

func (s *Server) reloadDebugRaftNodes(debug bool) {
	panic("unported: feature 2615")
}

func (s *Server) stepdownRaftNodes() {
	panic("unported: feature 2616")
}

func (s *Server) shutdownRaftNodes() {
	panic("unported: feature 2617")
}

func (s *Server) transferRaftLeaders() bool {
	panic("unported: feature 2618")
}
