package router

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/bytedance/sonic"
)

// Topology is the cluster as the router's file describes it: the shard groups and the
// addresses of their members. It says nothing about slots: the groups are the
// authority for which slots they own.
//
//	{"groups": [
//	  {"id": 1, "members": [
//	    {"id": "n1", "raft_addr": "10.0.0.1:7000", "rpc_addr": "10.0.0.1:7100"}, ...]},
//	  {"id": 2, "members": [...]}]}
type Topology struct {
	Groups []GroupSpec `json:"groups"`
}

// GroupSpec is one shard group.
type GroupSpec struct {
	ID      uint32       `json:"id"`
	Members []MemberSpec `json:"members"`
}

// MemberSpec is one node of a group.
type MemberSpec struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	RPCAddr  string `json:"rpc_addr"`
}

// ParseTopology decodes and validates a topology file's contents.
func ParseTopology(data []byte) (*Topology, error) {
	var t Topology
	if err := sonic.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("%w: not valid JSON: %w", ErrTopology, err)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// LoadTopology reads and validates a topology file.
func LoadTopology(path string) (*Topology, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTopology, err)
	}
	t, err := ParseTopology(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Validate checks the topology: at least one group, group IDs > 0 and unique, every
// group with at least one member, member IDs unique within their group, every address
// host:port and used once in the whole file. Problems are listed as plain sentences.
func (t *Topology) Validate() error {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if len(t.Groups) == 0 {
		bad("The topology lists no groups.")
	}
	groups := map[uint32]bool{}
	addrs := map[string]string{}
	for gi, g := range t.Groups {
		if g.ID == 0 {
			bad("Group #%d has no id (ids start at 1).", gi+1)
		} else if groups[g.ID] {
			bad("Group %d is listed twice.", g.ID)
		}
		groups[g.ID] = true
		if len(g.Members) == 0 {
			bad("Group %d has no members.", g.ID)
		}
		ids := map[string]bool{}
		for mi, m := range g.Members {
			who := fmt.Sprintf("Member %q of group %d", m.ID, g.ID)
			if m.ID == "" {
				who = fmt.Sprintf("Member #%d of group %d", mi+1, g.ID)
				bad("%s has no id.", who)
			} else if ids[m.ID] {
				bad("%s is listed twice.", who)
			}
			ids[m.ID] = true
			for _, a := range []struct{ name, v string }{{"raft_addr", m.RaftAddr}, {"rpc_addr", m.RPCAddr}} {
				if _, _, err := net.SplitHostPort(a.v); err != nil || a.v == "" {
					bad("%s has %s %q, which is not host:port.", who, a.name, a.v)
					continue
				}
				if prev, dup := addrs[a.v]; dup {
					bad("%s uses address %s, already used by %s.", who, a.v, prev)
				}
				addrs[a.v] = fmt.Sprintf("member %q of group %d", m.ID, g.ID)
			}
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", ErrTopology, strings.Join(probs, " "))
	}
	return nil
}

// group returns the group with id.
func (t *Topology) group(id uint32) (*GroupSpec, bool) {
	i := slices.IndexFunc(t.Groups, func(g GroupSpec) bool { return g.ID == id })
	if i < 0 {
		return nil, false
	}
	return &t.Groups[i], true
}

// rpcAddrOf maps a leader hint to a member's RPC address: nodes send their leader's
// RPC address, or its raft address when they do not know the RPC one.
func (g *GroupSpec) rpcAddrOf(hint string) (string, bool) {
	for _, m := range g.Members {
		if m.RPCAddr == hint || m.RaftAddr == hint {
			return m.RPCAddr, true
		}
	}
	return "", false
}
