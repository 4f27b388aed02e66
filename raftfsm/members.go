package raftfsm

import "strings"

// Group membership as the group itself stores it: every member's raft and RPC address
// and whether it is drained (keeps out of leadership). The raft configuration stays the
// authority on who votes; this table is the address book and the drain marks that
// every replica holds, so any node answers with the whole membership and a restarted
// node needs no flag edits to know a member added at run time.

// Limits of a MemberUpdate's strings.
const (
	MaxMemberIDLen   = 128
	MaxMemberAddrLen = 255
)

// MemberAction is what a MemberUpdate does. ONLY ADD TO THE END (log format).
type MemberAction uint8

const (
	MemberSet       MemberAction = 1 // add the member or replace its addresses (its drain mark is kept)
	MemberRemove    MemberAction = 2 // forget the member (absent: nothing to do)
	MemberDrain     MemberAction = 3 // the member keeps out of leadership until MemberUndrain
	MemberUndrain   MemberAction = 4 // the member may lead again
	memberActionEnd MemberAction = 5 // one past the last; keep last
)

// MemberUpdate changes one entry of the group's stored membership. Set needs every
// field; Remove, Drain and Undrain only ID (the addresses must be empty).
type MemberUpdate struct {
	Action   MemberAction
	ID       string // raft server ID; 1..MaxMemberIDLen bytes
	RaftAddr string // host:port other members dial for raft
	RPCAddr  string // host:port of its CopyTrade RPC
}

func (MemberUpdate) Op() Op { return OpMemberUpdate }

// GroupMember is one stored member.
type GroupMember struct {
	ID       string
	RaftAddr string
	RPCAddr  string
	Drained  bool // keeps out of leadership until undrained
}

// Members is the stored membership, by ascending ID (a copy).
func (m *Machine) Members() []GroupMember {
	out := make([]GroupMember, 0, len(m.members))
	for _, id := range sortedKeys(m.members) {
		out = append(out, *m.members[id])
	}
	return out
}

// Member is the stored entry of id.
func (m *Machine) Member(id string) (GroupMember, bool) {
	g, ok := m.members[id]
	if !ok {
		return GroupMember{}, false
	}
	return *g, true
}

func (m *Machine) applyMemberUpdate(c *MemberUpdate) *Refusal {
	if r := validMemberUpdate(c); r != nil {
		return r
	}
	cur := m.members[c.ID]
	switch c.Action {
	case MemberSet:
		g := &GroupMember{ID: c.ID, RaftAddr: c.RaftAddr, RPCAddr: c.RPCAddr}
		if cur != nil {
			g.Drained = cur.Drained
		}
		m.members[c.ID] = g
	case MemberRemove:
		delete(m.members, c.ID)
	case MemberDrain, MemberUndrain:
		if cur == nil {
			return invalid("ID", "not a stored member")
		}
		cur.Drained = c.Action == MemberDrain
	}
	return nil
}

func validMemberUpdate(c *MemberUpdate) *Refusal {
	if c.Action == 0 || c.Action >= memberActionEnd {
		return invalid("Action", "unknown")
	}
	if c.ID == "" || len(c.ID) > MaxMemberIDLen {
		return invalid("ID", "must be 1..128 bytes")
	}
	for _, f := range []struct{ name, v string }{{"RaftAddr", c.RaftAddr}, {"RPCAddr", c.RPCAddr}} {
		if c.Action != MemberSet {
			if f.v != "" {
				return invalid(f.name, "only MemberSet carries addresses")
			}
			continue
		}
		// host:port, checked without the net package: a colon with a port after it.
		i := strings.LastIndexByte(f.v, ':')
		if len(f.v) > MaxMemberAddrLen || i <= 0 || i == len(f.v)-1 {
			return invalid(f.name, "must be host:port, at most 255 bytes")
		}
	}
	return nil
}

func (e *encoder) memberUpdate(c *MemberUpdate) {
	e.u8(uint8(c.Action))
	e.str(c.ID)
	e.str(c.RaftAddr)
	e.str(c.RPCAddr)
}

func (d *decoder) memberUpdate() *MemberUpdate {
	c := &MemberUpdate{Action: MemberAction(d.u8("Action"))}
	c.ID = d.str("ID", MaxMemberIDLen)
	c.RaftAddr = d.str("RaftAddr", MaxMemberAddrLen)
	c.RPCAddr = d.str("RPCAddr", MaxMemberAddrLen)
	return c
}

// appendMembers writes the snapshot's members section (version 2 on):
// [count, (ID, RaftAddr, RPCAddr, Drained)...] ascending ID.
func appendMembers(e *encoder, members map[string]*GroupMember) {
	ids := sortedKeys(members)
	e.uvarint(uint64(len(ids)))
	for _, id := range ids {
		g := members[id]
		e.str(g.ID)
		e.str(g.RaftAddr)
		e.str(g.RPCAddr)
		e.bool(g.Drained)
	}
}

func decodeMembers(d *decoder) map[string]*GroupMember {
	out := make(map[string]*GroupMember)
	n := d.count("members", unbounded, 4)
	var prev string
	for i := 0; i < n && d.err == nil; i++ {
		g := &GroupMember{
			ID:       d.str("members.ID", MaxMemberIDLen),
			RaftAddr: d.str("members.RaftAddr", MaxMemberAddrLen),
			RPCAddr:  d.str("members.RPCAddr", MaxMemberAddrLen),
			Drained:  d.bool("members.Drained"),
		}
		if d.err != nil {
			break
		}
		if g.ID == "" || (i > 0 && g.ID <= prev) {
			d.fail("members", "empty ID, or not in ascending ID order")
		}
		prev = g.ID
		out[g.ID] = g
	}
	return out
}
