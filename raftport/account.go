package raftport

import (
	"errors"
	"fmt"
)

// checkAccountNRGStatus reports whether this group's traffic may travel in
// its own account instead of the system account. The reference also asks
// every peer's server whether it supports that; the hosts of one raftport
// deployment share ServerConfig.NRGInAssetAccount, which stands for that
// agreement.
// The caller holds the node lock.
func (n *raft) checkAccountNRGStatus() bool {
	return n.s.cfg.NRGInAssetAccount
}

// IsSystemAccount reports whether the group's traffic travels in the
// system account.
func (n *raft) IsSystemAccount() bool {
	return n.isSysAcc.Load()
}

// GetTrafficAccountName is the account whose connection carries the
// group's traffic.
func (n *raft) GetTrafficAccountName() string {
	n.RLock()
	defer n.RUnlock()
	return n.trafficAcc
}

// RecreateInternalSubs moves the group's subscriptions to the connection
// of the account its traffic should now use, e.g. after the host's
// configuration changed. Nothing happens when the account is unchanged.
func (n *raft) RecreateInternalSubs() (err error) {
	n.underLock(func() { err = n.recreateInternalSubsLocked() })
	return err
}

// recreateInternalSubsLocked picks the traffic account (the system account
// unless the group may use its own) and, when it differs from the current
// one, subscribes again on that account's connection.
// The caller holds the node lock.
func (n *raft) recreateInternalSubsLocked() error {
	s := n.s
	if s == nil {
		return errors.New("raft: server not found")
	}
	s.mu.RLock()
	down, sysAcc := s.shutdown, s.cfg.SystemAccount
	s.mu.RUnlock()
	if down {
		return errServerShutdown
	}

	target := sysAcc
	if n.checkAccountNRGStatus() && n.accName != "" {
		target = n.accName
	}
	if n.aesub != nil && n.trafficAcc == target {
		return nil
	}

	// The catchup inbox lives on the connection about to be left, so a
	// catchup in flight cannot survive the move.
	n.cancelCatchup()
	n.releaseTransport()

	conn, err := s.cfg.Connect(target)
	if err != nil {
		return fmt.Errorf("raft: connecting for account %q: %w", target, err)
	}
	if conn == nil {
		return fmt.Errorf("raft: no connection for account %q", target)
	}
	if n.trafficAcc != target {
		n.debug("Moving group traffic to account '%s'", target)
	}
	n.conn = conn
	n.sendConn.Store(&conn)
	n.trafficAcc = target
	n.isSysAcc.Store(target == sysAcc)
	return n.createInternalSubs()
}

// outOfResources reports whether a tracked node's host has used up its
// storage budget: the log bytes of every tracked node of the host count
// against ServerConfig.MaxStorageBytes.
// Lock must not be held: it reads every tracked node's size.
func (n *raft) outOfResources() bool {
	if !n.track || n.s.cfg.MaxStorageBytes == 0 {
		return false
	}
	return n.s.trackedBytes() > n.s.cfg.MaxStorageBytes
}
