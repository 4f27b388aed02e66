package shard

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// peerAddrs makes the raft transport dial a peer at an address other than the one in
// the raft configuration (Config.RaftPeerAddrs): fault tests put a proxy on each
// directed peer link (tools/faultproxy).
type peerAddrs map[string]string

func (p peerAddrs) ServerAddr(id raft.ServerID) (raft.ServerAddress, error) {
	if a, ok := p[string(id)]; ok {
		return raft.ServerAddress(a), nil
	}
	return "", fmt.Errorf("shard: no dial override for %s", id) // the transport uses the configured address
}

// transportConfig is the raft TCP transport's configuration; self is the address this
// node advertises.
func (n *Node) transportConfig(l hclog.Logger, self string) *raft.NetworkTransportConfig {
	tc := &raft.NetworkTransportConfig{MaxPool: 4, Timeout: 5 * time.Second, Logger: l}
	if len(n.cfg.RaftPeerAddrs) > 0 {
		// raft asks for its own address too; a missing entry costs a warning per RPC.
		p := peerAddrs{n.cfg.NodeID: self}
		for id, a := range n.cfg.RaftPeerAddrs {
			p[id] = a
		}
		tc.ServerAddressProvider = p
	}
	return tc
}
