package raftport

import (
	"github.com/porttrack-dev/porttrack/raftport/transport"
	"time"
)

func (n *raft) selectNextLeader() string {
	panic("unported: feature 2659")
}

func (n *raft) StepDown(preferred ...string) error {
	panic("unported: feature 2660")
}

func (n *raft) Campaign() error {
	panic("unported: feature 2661")
}

func (n *raft) CampaignImmediately() error {
	panic("unported: feature 2662")
}

func randCampaignTimeout(tm *Timing) time.Duration {
	panic("unported: feature 2663")
}

func (n *raft) campaign(et time.Duration) error {
	panic("unported: feature 2664")
}

func (n *raft) xferCampaign() error {
	panic("unported: feature 2665")
}

func (n *raft) runAsCandidate() {
	panic("unported: feature 2741")
}

func (n *raft) handleVoteResponse(sub transport.Subscription, _, reply string, msg []byte) {
	panic("unported: feature 2783")
}

func (n *raft) processVoteRequest(vr *voteRequest) error {
	panic("unported: feature 2784")
}

func (n *raft) handleVoteRequest(sub transport.Subscription, subject, reply string, msg []byte) {
	panic("unported: feature 2785")
}

func (n *raft) requestVote() {
	panic("unported: feature 2786")
}

func (n *raft) wonElection(votes int) bool {
	panic("unported: feature 2789")
}

func (n *raft) quorumNeeded() int {
	panic("unported: feature 2790")
}
