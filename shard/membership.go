package shard

// Stored membership: every member's raft and RPC address lives in the machine
// (raftfsm.MemberUpdate), so every replica — and a restarted one — knows the addresses
// of members added at run time. The raft configuration stays the authority on who
// votes; the stored table is the address book and the drain marks. The leader of each
// term stores what its configuration says about members the table does not hold yet
// (a group bootstrapped by an older build, or the initial members), AddMember stores
// the new member before adding the voter, RemoveMember forgets it after removing it.
//
// Drain: a drained member keeps out of leadership. When it leads (it is drained while
// leading, or it wins an election later), it hands leadership to another voter.

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/raft"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/convert"
)

// memberRPCAddr is the RPC address of member id: the stored one, else the one this
// node's configuration (-members) gives, else "".
func (n *Node) memberRPCAddr(id raft.ServerID) string {
	var addr string
	n.fsm.read(func(m *raftfsm.Machine) {
		if g, ok := m.Member(string(id)); ok {
			addr = g.RPCAddr
		}
	})
	if addr != "" {
		return addr
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rpcAddr[id]
}

// StoredMembers is the membership stored in the group, by ascending ID.
func (n *Node) StoredMembers() []raftfsm.GroupMember {
	var out []raftfsm.GroupMember
	n.fsm.read(func(m *raftfsm.Machine) { out = m.Members() })
	return out
}

// isDrained reports whether member id is marked drained in the stored membership.
func (n *Node) isDrained(id string) bool {
	g, ok := n.storedMember(id)
	return ok && g.Drained
}

// storeMembership runs once per term on the leader, after the barrier: every voter of
// the raft configuration that the stored table lacks (or holds with another raft
// address) is stored with the RPC address this node knows for it. Then, when this node
// is drained, it hands leadership away.
func (n *Node) storeMembership(ls *leaderState) {
	defer ls.wg.Done()
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		n.log.Warn("membership not stored: no raft configuration", "err", err)
		return
	}
	stored := map[string]raftfsm.GroupMember{}
	for _, g := range n.StoredMembers() {
		stored[g.ID] = g
	}
	for _, s := range cf.Configuration().Servers {
		g, ok := stored[string(s.ID)]
		if ok && g.RaftAddr == string(s.Address) && g.RPCAddr != "" {
			continue
		}
		n.mu.Lock()
		rpc := n.rpcAddr[s.ID]
		n.mu.Unlock()
		if rpc == "" && ok {
			rpc = g.RPCAddr
		}
		if rpc == "" {
			n.log.Warn("member's RPC address unknown; not stored (add it to -members or re-add it)", "member", s.ID)
			continue
		}
		ctx, cancel := context.WithTimeout(ls.ctx, n.cfg.RequestTimeout)
		o := n.apply(ctx, &raftfsm.MemberUpdate{Action: raftfsm.MemberSet, ID: string(s.ID), RaftAddr: string(s.Address), RPCAddr: rpc})
		cancel()
		if err := outcomeError(o); err != nil {
			n.log.Warn("storing a member failed; the next leader retries", "member", s.ID, "err", err)
			return
		}
		n.log.Info("stored member", "member", s.ID, "raft_addr", s.Address, "rpc_addr", rpc)
	}
	if n.isDrained(n.cfg.NodeID) {
		n.handOffDrained(ls)
	}
}

// handOffDrained transfers leadership away from this drained node, in the background
// (the transfer waits for a follower to catch up) and tied to the term ls.
func (n *Node) handOffDrained(ls *leaderState) {
	ls.wg.Add(1)
	go func() {
		defer ls.wg.Done()
		if ls.ctx.Err() != nil {
			return
		}
		n.drainHandoffs.Add(1)
		n.log.Info("drained: handing leadership over")
		if err := n.handOver(n.raft.LeadershipTransfer); err != nil && ls.ctx.Err() == nil {
			n.log.Warn("drained node could not hand leadership over", "err", err)
		}
	}()
}

// outcomeError is an outcome's failure: the error, else the refusal.
func outcomeError(o outcome) error {
	if o.err != nil {
		return o.err
	}
	if o.res != nil && o.res.Refusal != nil {
		return o.res.Refusal
	}
	return nil
}

// storeMember proposes one MemberUpdate on the leader and waits for it to apply.
func (n *Node) storeMember(ctx context.Context, u *raftfsm.MemberUpdate) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeLeft(ctx, n.cfg.RequestTimeout))
	defer cancel()
	o := n.apply(ctx, u)
	if err := outcomeError(o); err != nil {
		return 0, fmt.Errorf("shard: store member %s: %w", u.ID, err)
	}
	return o.res.Index, nil
}

// SetDrained marks member id drained (or not). Call it on the leader. A drained leader
// hands leadership over at once; a drained follower hands it over if it ever wins an
// election, until it is undrained.
func (n *Node) SetDrained(ctx context.Context, id string, drained bool) (uint64, error) {
	if id == "" {
		return 0, fmt.Errorf("shard: drain: %w", errors.New("member id is required"))
	}
	act := raftfsm.MemberUndrain
	if drained {
		act = raftfsm.MemberDrain
	}
	if err := n.ensureStored(ctx, id); err != nil {
		return 0, err
	}
	idx, err := n.storeMember(ctx, &raftfsm.MemberUpdate{Action: act, ID: id})
	if err != nil {
		return 0, err
	}
	n.log.Info("member drain changed", "member", id, "drained", drained)
	if ls := n.ls.Load(); drained && id == n.cfg.NodeID && ls != nil {
		n.handOffDrained(ls)
	}
	return idx, nil
}

// ensureStored stores voter id from the raft configuration when the table lacks it (a
// new term's leader may not have stored its configuration yet).
func (n *Node) ensureStored(ctx context.Context, id string) error {
	if _, ok := n.storedMember(id); ok {
		return nil
	}
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return n.raftErr("configuration", err)
	}
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) != id {
			continue
		}
		rpc := n.memberRPCAddr(s.ID)
		if rpc == "" {
			return fmt.Errorf("shard: member %s: %w", id, errors.New("its RPC address is unknown (re-add it with its rpc address)"))
		}
		_, err := n.storeMember(ctx, &raftfsm.MemberUpdate{Action: raftfsm.MemberSet, ID: id, RaftAddr: string(s.Address), RPCAddr: rpc})
		return err
	}
	return fmt.Errorf("shard: drain: %w", &convert.FieldError{Field: "id", Problem: fmt.Sprintf("%q is not a member of the group", id)})
}

// storedMember is the stored entry of id.
func (n *Node) storedMember(id string) (g raftfsm.GroupMember, ok bool) {
	n.fsm.read(func(m *raftfsm.Machine) { g, ok = m.Member(id) })
	return
}
