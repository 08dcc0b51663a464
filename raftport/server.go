package raftport

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/porttrack-dev/porttrack/raftport/storage"
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

// nodeIDAlphabet is the reference's base-62 digit set for server hashes.
const nodeIDAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// nodeIDFor derives the 8-character node ID of a host name the way the
// NATS server derives it from the server name (each of the first bytes of
// its SHA-256 taken modulo 62), so that a raftport host named like a NATS
// server carries the same node ID ("nats-0" is "S1Nunr6R").
func nodeIDFor(name string) string {
	sum := sha256.Sum256([]byte(name))
	id := make([]byte, idLen)
	for i := range id {
		id[i] = nodeIDAlphabet[int(sum[i])%len(nodeIDAlphabet)]
	}
	return string(id)
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

var errServerShutdown = errors.New("raft: server is shut down")

// bootstrapRaftNode checks that cfg.Store is a writable directory (creating
// it if needed) and writes the group's initial peer state there.
func (s *Server) bootstrapRaftNode(cfg *RaftConfig, knownPeers []string, allPeersKnown bool) error {
	if cfg == nil {
		return errNilCfg
	}
	if bad := slices.IndexFunc(knownPeers, func(p string) bool { return len(p) != idLen }); bad >= 0 {
		return fmt.Errorf("raft: illegal peer: %q", knownPeers[bad])
	}
	size := s.bootClusterSize(cfg.Name, len(knownPeers), allPeersKnown)
	if err := checkStoreDir(cfg.Store); err != nil {
		return err
	}
	return writePeerState(cfg.Store, &peerState{knownPeers: knownPeers, clusterSize: size, domainExt: extUndetermined})
}

// bootClusterSize is the cluster size a new group starts with: the known
// peers when they are the whole group. Otherwise, until the group has met,
// it is sized by the hosts we know of, and at least 2, so that a partial
// list cannot elect a leader on its own.
func (s *Server) bootClusterSize(group string, known int, complete bool) int {
	if complete {
		return known
	}
	others := hostRead(s, func() int { return len(s.nodeInfo) - 1 })
	size := max(known, 2, others)
	s.log.Debug("Expected peer set size of a group with peers still unknown", "group", group, "expected", size, "known", known)
	return size
}

// checkStoreDir makes sure dir exists, is a directory and can be written.
func checkStoreDir(dir string) error {
	if dir == "" {
		return errors.New("raft: no storage directory given")
	}
	st, err := os.Stat(dir)
	switch {
	case os.IsNotExist(err):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("raft: could not create storage directory - %v", err)
		}
	case err != nil:
		return fmt.Errorf("raft: storage directory: %v", err)
	case !st.IsDir():
		return errors.New("raft: storage directory is not a directory")
	}
	probe, err := os.CreateTemp(dir, "_test_")
	if err != nil {
		return errors.New("raft: storage directory is not writable")
	}
	name := probe.Name()
	return errors.Join(probe.Close(), os.Remove(name))
}

// initRaftNode builds a node and recovers its state, without starting its
// run loop: tav.idx (term and vote), the last snapshot, peers.idx when the
// snapshot had no peer state, then every entry left in the WAL, which is
// checked for alignment with the snapshot and truncated where it breaks.
func (s *Server) initRaftNode(accName string, cfg *RaftConfig) (*raft, error) {
	if cfg == nil {
		return nil, errNilCfg
	}
	if cfg.Log == nil {
		return nil, errors.New("raft: config has no log")
	}
	if err := transport.CheckGroup(cfg.Name); err != nil {
		return nil, err
	}
	s.mu.RLock()
	down, debug := s.shutdown, s.cfg.Debug
	s.mu.RUnlock()
	if down {
		return nil, errServerShutdown
	}

	qname := fmt.Sprintf("[ACC:%s] RAFT '%s' ", accName, cfg.Name)
	inbox := make(chan struct{}, 1)
	n := &raft{
		created:  time.Now(),
		id:       s.id,
		group:    cfg.Name,
		sd:       cfg.Store,
		wal:      cfg.Log,
		wtype:    walType(cfg.Log),
		timing:   s.timing,
		track:    cfg.Track,
		peers:    make(map[string]*lps),
		acks:     make(map[uint64]map[string]struct{}),
		pae:      make(map[uint64]*appendEntry),
		s:        s,
		quit:     make(chan struct{}),
		inbox:    inbox,
		reqs:     newIPQueueRinging[*voteRequest](qname+"vreq", inbox),
		votes:    newIPQueueRinging[*voteResponse](qname+"vresp", inbox),
		prop:     newIPQueueRinging[*proposedEntry](qname+"entry", inbox),
		entry:    newIPQueueRinging[*appendEntry](qname+"appendEntry", inbox),
		resp:     newIPQueueRinging[*appendEntryResponse](qname+"appendEntryResponse", inbox),
		durq:     newIPQueue[durableWrite](qname + "durable"),
		apply:    newIPQueue[*CommittedEntry](qname + "committedEntry"),
		accName:  accName,
		leadc:    make(chan bool, 32),
		observer: cfg.Observer,
		dflag:    debug,
	}
	n.debugOn.Store(debug)

	// Without its subscriptions the node would be cut off from the group,
	// so failing here is fatal.
	if err := n.RecreateInternalSubs(); err != nil {
		n.abandon()
		return nil, err
	}

	// The file may lag what the group decided while we were gone; a
	// catchup corrects that, what matters is never voting twice. A damaged
	// file would forget a vote, so the node refuses to start on one.
	term, vote, err := n.readTermVote()
	if errors.Is(err, storage.ErrCorrupt) {
		n.abandon()
		return nil, fmt.Errorf("raft: group %q cannot start, its term and vote are unreadable: %w", cfg.Name, err)
	}
	if err == nil && term > 0 {
		n.term = term
		n.vote = vote
	}
	// A term on file means this node took part in the group before: it
	// restarts, whatever the caller said, so an empty log is lost data.
	recovering := cfg.Recovering || n.term > 0
	// A log cut at open (a damaged or torn final record) may have held
	// acknowledged entries.
	if r, ok := cfg.Log.(interface{ Recovery() storage.Recovery }); ok && r.Recovery().TornSize > 0 {
		n.warn("The log lost its tail at open (%s); abstaining from votes until caught up", r.Recovery().Reason)
		n.abstain = true
	}

	// A memory log starts empty, so an old snapshot would not line up
	// with it: the state comes from the leader instead.
	n.papplied = 0
	if n.wtype == memoryWAL {
		if err := os.RemoveAll(filepath.Join(n.sd, snapshotsDir)); err != nil {
			n.warn("Could not remove stale snapshots: %v", err)
		}
	} else if err := n.setupLastSnapshot(); err != nil && !errors.Is(err, errNoSnapAvailable) {
		// Recovering without the snapshot would leave a partial view of
		// the state, so surface it.
		n.abandon()
		return nil, err
	}

	if len(n.peers) == 0 {
		ps, err := readPeerState(n.sd)
		if err != nil {
			n.abandon()
			return nil, err
		}
		n.processPeerState(ps)
		n.extSt = ps.domainExt
	}

	if err := os.MkdirAll(filepath.Join(n.sd, snapshotsDir), 0o755); err != nil {
		n.abandon()
		return nil, fmt.Errorf("could not create snapshots directory - %v", err)
	}

	n.replayWAL()

	n.debug("Started (cluster size %d, quorum %d)", n.csz, n.qn)

	// Start both timers from now so that neither an election nor a lost
	// quorum is declared before we have heard from the others.
	n.Lock()
	n.resetElectionTimeout()
	n.llqrt = time.Now()
	n.noteEmptyStart(cfg, recovering)
	n.Unlock()

	s.registerRaftNode(n.group, n)
	// A host shut down while we were recovering has already stopped the
	// nodes it knew of; this one would otherwise run on, on its own.
	s.mu.RLock()
	down = s.shutdown
	s.mu.RUnlock()
	if down {
		s.unregisterRaftNode(n.group)
		n.abandon()
		return nil, errServerShutdown
	}
	return n, nil
}

// noteEmptyStart judges a node that starts with an empty log. A restarting
// durable node with neither log nor snapshot lost what it held (its log
// was removed), unlike a memory log, empty by design: it abstains. A new
// group's empty log is expected, not lost data, so the empty-log checks
// relax until the first entry; a new member of a group being scaled up
// observes, so that it does not campaign before the leader sent it data.
// recovering is RaftConfig.Recovering, or a restart the store showed.
// The caller holds the node lock.
func (n *raft) noteEmptyStart(cfg *RaftConfig, recovering bool) {
	if n.pindex != 0 {
		return
	}
	switch {
	case !recovering:
		n.initializing = true
		n.scaleUp = cfg.ScaleUp && !cfg.Observer
	case n.snapfile == "" && n.wtype == fileWAL:
		n.warn("Restarted without log or snapshot; abstaining from votes until caught up")
		n.abstain = true
	}
	if n.scaleUp {
		n.setObserverLocked(true, extUndetermined)
	}
}

// walType tells memory logs from durable ones, which keep snapshots.
// A volatile log kept across a restart (MemWAL.Reopen) counts as durable:
// only a fresh one has nothing a snapshot could line up with.
func walType(wal storage.WAL) walKind {
	if st := wal.State(); wal.Volatile() && st.FirstIndex <= 1 && st.LastIndex == 0 {
		return memoryWAL
	}
	return fileWAL
}

// maxReplayQueueBytes bounds what a replay queues for the state machine
// before it pauses applies; run resumes them.
const maxReplayQueueBytes = 32 * 1024 * 1024

// replayWAL feeds every entry left in the WAL through processAppendEntry,
// so that committed but unapplied entries reach the state machine. The
// first entry must follow the snapshot; any entry that cannot be loaded or
// does not follow its predecessor ends the log there.
func (n *raft) replayWAL() {
	st := n.wal.State()
	n.bytes = st.Bytes
	if st.Entries == 0 {
		return
	}
	n.debug("Rebuilding state from %d logged entries", st.Entries)

	// Truncating to a snapshot older than the log's start must empty the
	// log as the reference's stores do, hence truncateLogTo.
	truncate := func(index uint64) {
		// What is cut may have been acknowledged.
		n.abstain = true
		if err := n.truncateLogTo(index); err != nil {
			n.setWriteErr(err)
		}
	}
	queued := 0
	for index := st.FirstIndex; index <= st.LastIndex; index++ {
		ae, err := n.loadEntry(index)
		if cut, ok := n.replayCheck(index, st, ae, err); !ok {
			truncate(cut)
			return
		}
		if index == st.FirstIndex {
			n.pterm, n.pindex = ae.pterm, ae.pindex
			n.commit = max(n.commit, ae.commit)
		}
		n.processAppendEntry(ae, nil)
		queued = n.throttleReplay(queued, ae)
	}
}

// replayCheck tells whether the entry loaded at index may be replayed, or
// else where to cut the log: a first entry must follow the snapshot, so a
// misfit cuts back to the snapshot; a later one cuts at its predecessor.
func (n *raft) replayCheck(index uint64, st storage.State, ae *appendEntry, err error) (cutAt uint64, ok bool) {
	first := index == st.FirstIndex
	switch {
	case err != nil:
		n.warn("Reading index %d from the log (state %+v) failed: %v", index, st, err)
	case ae == nil || ae.pindex != index-1 || (first && ae.pindex != n.pindex):
		n.warn("Log entry at index %d does not follow its predecessor, cutting the log there", index)
	default:
		return 0, true
	}
	if first {
		return n.pindex, false
	}
	return index - 1, false
}

// throttleReplay pauses applies once a replay queued more than
// maxReplayQueueBytes for the state machine; run resumes them. It returns
// the bytes queued so far.
func (n *raft) throttleReplay(queued int, ae *appendEntry) int {
	for _, e := range ae.entries {
		queued += len(e.Data)
	}
	if queued > maxReplayQueueBytes && !n.paused {
		if err := n.PauseApply(); err != nil {
			n.warn("Could not pause applies during replay: %v", err)
		}
	}
	return queued
}

// abandon undoes a partial initRaftNode: the node is marked closed and
// leaves the transport, while the WAL stays with the caller that gave it.
func (n *raft) abandon() {
	n.shutdown()
	n.underLock(n.releaseTransport)
}

// startRaftNode initializes a node and starts its run loop.
func (s *Server) startRaftNode(accName string, cfg *RaftConfig) (RaftNode, error) {
	return running(s.initRaftNode(accName, cfg))
}

// running starts the run loop of a node initRaftNode made; on failure the
// node stays a nil interface.
func running(n *raft, err error) (RaftNode, error) {
	if err != nil {
		return nil, err
	}
	n.startRun()
	return n, nil
}

// startRun launches the run loop; Stop then leaves the final teardown to it.
func (n *raft) startRun() {
	n.runStarted.Store(true)
	n.synced.deferring.Store(true)
	n.wg.Add(2)
	go n.run()
	go n.runSyncer()
}

// ServerNameForNode maps a node ID to the name of its host, "" if unknown.
func (s *Server) ServerNameForNode(node string) string { return s.serverNameForNode(node) }

// ClusterNameForNode maps a node ID to its host's cluster, "" if unknown.
func (s *Server) ClusterNameForNode(node string) string { return s.clusterNameForNode(node) }

// NumRaftNodes is how many nodes this host runs.
func (s *Server) NumRaftNodes() int { return s.numRaftNodes() }

// hostRead returns what f reads under the host's read lock.
func hostRead[T any](s *Server, f func() T) T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return f()
}

// serverNameForNode maps a node ID back to its host's name, "" if unknown.
func (s *Server) serverNameForNode(node string) string {
	return hostRead(s, func() string { return s.nodeInfo[node].Name })
}

// clusterNameForNode maps a node ID back to its host's cluster, "" if unknown.
func (s *Server) clusterNameForNode(node string) string {
	return hostRead(s, func() string { return s.nodeInfo[node].Cluster })
}

// The registry of the host's nodes, by group. NewServer makes the table.

func (s *Server) registerRaftNode(group string, n RaftNode) {
	s.mu.Lock()
	s.raftNodes[group] = n
	s.mu.Unlock()
}

func (s *Server) unregisterRaftNode(group string) {
	s.mu.Lock()
	delete(s.raftNodes, group)
	s.mu.Unlock()
}

func (s *Server) numRaftNodes() int { return hostRead(s, func() int { return len(s.raftNodes) }) }

func (s *Server) lookupRaftNode(group string) RaftNode {
	return hostRead(s, func() RaftNode { return s.raftNodes[group] })
}

// nodes returns the registered nodes, so callers can act on them without
// holding the host lock while they take node locks.
func (s *Server) nodes() []RaftNode {
	return hostRead(s, func() []RaftNode { return slices.Collect(maps.Values(s.raftNodes)) })
}

// SetDebug switches the debug logging of this host's nodes, including the
// ones started later.
func (s *Server) SetDebug(debug bool) { s.reloadDebugRaftNodes(debug) }

// reloadDebugRaftNodes switches debug logging of every node, after the
// host's logging configuration changed.
func (s *Server) reloadDebugRaftNodes(debug bool) {
	for _, node := range s.recordDebug(debug) {
		node.(*raft).setDebug(debug)
	}
}

// recordDebug keeps the debug setting for the nodes started from now on and
// returns the nodes running now; a nil host has none.
func (s *Server) recordDebug(debug bool) []RaftNode {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Debug = debug
	return slices.Collect(maps.Values(s.raftNodes))
}

// setDebug switches the node's debug logging.
func (n *raft) setDebug(debug bool) {
	n.underLock(func() { n.dflag = debug })
	n.debugOn.Store(debug)
}

// stepdownRaftNodes asks every leader to step down and makes every node an
// observer, so that none takes leadership while the host goes away.
func (s *Server) stepdownRaftNodes() {
	if s == nil {
		return
	}
	nodes := s.nodes()
	if len(nodes) == 0 {
		return
	}
	s.log.Debug("Asking every leading group to hand over leadership")
	for _, node := range nodes {
		// A follower refuses with errNotLeader, which is fine here.
		_ = node.StepDown()
		node.SetObserver(true)
	}
}

// shutdownRaftNodes stops every node and waits for their run loops to
// finish, as the reference server's shutdown waits for its goroutines: a
// caller may then remove the nodes' directories. The run loops take their
// node's lock to finish, so it must not be held by the caller.
func (s *Server) shutdownRaftNodes() {
	if s == nil {
		return
	}
	nodes := s.nodes()
	if len(nodes) == 0 {
		return
	}
	s.log.Debug("Stopping every raft group")
	for _, node := range nodes {
		node.Stop()
	}
	for _, node := range nodes {
		node.WaitForStop()
	}
}

// transferRaftLeaders moves leadership off this host and makes every node
// an observer so that leadership cannot come back; it reports whether any
// node was leading.
func (s *Server) transferRaftLeaders() bool {
	if s == nil {
		return false
	}
	var transferred bool
	for _, node := range s.nodes() {
		if err := node.StepDown(); err == nil {
			transferred = true
		}
		node.SetObserver(true)
	}
	return transferred
}

// handleStorageFailure reacts to a disk that is full or not writable as
// the reference server does, by stopping storage use altogether: every
// node of this host shares the disk, so every node is stopped. It runs
// under the failing node's lock, so it only closes the nodes (shutdown
// takes no lock); their run loops, or a later Stop, do the teardown.
func (s *Server) handleStorageFailure(group string, err error) {
	s.log.Error("Storage failure, stopping all raft nodes", "group", group, "error", err)
	for _, node := range s.nodes() {
		node.(*raft).shutdown()
	}
}

// trackedBytes sums the log bytes of every node that tracks resources.
func (s *Server) trackedBytes() uint64 {
	var total uint64
	for _, node := range s.nodes() {
		n := node.(*raft)
		if !n.track {
			continue
		}
		_, bytes := n.Size()
		total += bytes
	}
	return total
}
