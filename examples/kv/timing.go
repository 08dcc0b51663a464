package kv

import (
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
)

// Timing scales raftport's intervals from one minimum election timeout,
// in the proportions of raftport's defaults: elections between one and
// two timeouts, heartbeats at a tenth, quorum loss noticed after two.
// Zero keeps raftport's defaults (a 4s timeout).
func Timing(minElection time.Duration) raftport.Timing {
	if minElection <= 0 {
		return raftport.Timing{}
	}
	return raftport.Timing{
		MinElectionTimeout: minElection,
		MaxElectionTimeout: 2 * minElection,
		MinCampaignTimeout: minElection / 25,
		MaxCampaignTimeout: minElection / 5,
		HeartbeatInterval:  minElection / 10,
		LostQuorumInterval: 2 * minElection,
		LostQuorumCheck:    minElection / 2,
	}
}
