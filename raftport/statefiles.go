package raftport

func (n *raft) writePeerState(ps *peerState) {
	panic("unported: feature 2772")
}

func writePeerState(sd string, ps *peerState) error {
	panic("unported: feature 2773")
}

func readPeerState(sd string) (ps *peerState, err error) {
	panic("unported: feature 2774")
}

func writeTermVote(sd string, wtv []byte) error {
	panic("unported: feature 2775")
}

func (n *raft) readTermVote() (term uint64, voted string, err error) {
	panic("unported: feature 2776")
}

func (n *raft) setWriteErrLocked(err error) {
	panic("unported: feature 2777")
}

func (n *raft) isClosed() bool {
	panic("unported: feature 2778")
}

func (n *raft) setWriteErr(err error) {
	panic("unported: feature 2779")
}

func (n *raft) writeTermVote() {
	panic("unported: feature 2780")
}
