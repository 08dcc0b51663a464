package raftport

// Probe methods for the apply and snapshot tests, and the entry point of
// tests that drive a node that is not running.

// InitRaftNode creates and recovers a node as StartRaftNode does, but does
// not start its run loop: the reference's step-by-step tests (via
// initRaftNode) call the protocol's handlers themselves through the Probe,
// and a running loop would race them.
func InitRaftNode(s *Server, accName string, cfg *RaftConfig) (RaftNode, *Probe, error) {
	n, err := s.initRaftNode(accName, cfg)
	if err != nil {
		return nil, nil, err
	}
	return n, &Probe{n: n}, nil
}
