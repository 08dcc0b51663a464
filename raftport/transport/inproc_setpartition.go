package transport

// SetPartition replaces every partition, block and isolation in force with
// the cuts between the given groups (as Partition draws them), in one
// step: no message is decided under a mix of the old partition and the
// new one, as a Heal followed by Partition would allow. A node in no group
// keeps every link, which is how a test makes a bridge between two sides.
// SetPartition with no groups heals. Fault rules stay.
func (n *Network) SetPartition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.blocked)
	clear(n.isolated)
	n.cutBetweenLocked(groups)
}

// cutBetweenLocked blocks every link from a node of one group to a node
// of another, both ways.
func (n *Network) cutBetweenLocked(groups [][]string) {
	for i, gi := range groups {
		for j, gj := range groups {
			if i == j {
				continue
			}
			for _, a := range gi {
				for _, b := range gj {
					n.blocked[link{a, b}] = struct{}{}
				}
			}
		}
	}
}
