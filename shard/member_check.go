package shard

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/copytrade/copytrade/rpc/convert"
	"github.com/copytrade/copytrade/rpc/tlsconf"
)

// MaxMemberIDLen bounds a member's raft server ID (bytes).
const MaxMemberIDLen = 64

// memberProbeTimeout bounds the dial that checks a new member's raft address answers.
const memberProbeTimeout = 2 * time.Second

// checkMember validates a member about to be added to the group against the current
// configuration: an ID of 1..64 bytes of [A-Za-z0-9._-], host:port addresses with a
// port in 1..65535, and a raft address no other member uses. A voter with a bad
// address would count towards the quorum while never answering, and stall every write.
func checkMember(m Member, conf []raft.Server) error {
	if !validMemberID(m.ID) {
		return &convert.FieldError{Field: "id", Problem: "must be 1.." + strconv.Itoa(MaxMemberIDLen) + " bytes of A-Z a-z 0-9 . _ -"}
	}
	if err := checkHostPort("raft_addr", m.RaftAddr, true); err != nil {
		return err
	}
	if err := checkHostPort("rpc_addr", m.RPCAddr, false); err != nil {
		return err
	}
	for _, s := range conf {
		if string(s.Address) == m.RaftAddr && string(s.ID) != m.ID {
			return &convert.FieldError{Field: "raft_addr", Problem: "is member " + string(s.ID) + "'s address"}
		}
	}
	return nil
}

func validMemberID(s string) bool {
	if len(s) == 0 || len(s) > MaxMemberIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkHostPort checks addr is host:port with a non-empty host of at most 253 bytes and
// a port in 1..65535; empty is allowed unless required.
func checkHostPort(field, addr string, required bool) error {
	if addr == "" {
		if required {
			return &convert.FieldError{Field: field, Problem: "is required"}
		}
		return nil
	}
	bad := func(why string) error {
		a := addr
		if len(a) > 64 {
			a = a[:64] + "..."
		}
		return &convert.FieldError{Field: field, Problem: "must be host:port (" + why + "), got " + strconv.Quote(a)}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return bad("no port")
	}
	if host == "" || len(host) > 253 {
		return bad("host must be 1..253 bytes")
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; c <= ' ' || c >= 0x7f || c == '/' || c == '@' {
			return bad("host has a character no host name or IP address has")
		}
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != port {
		return bad("port must be 1..65535")
	}
	return nil
}

// probeMember checks that m's raft address answers (a connection, and with TLS a
// handshake that proves m's certificate), so a typo is refused before it becomes a voter.
func (n *Node) probeMember(ctx context.Context, m Member) error {
	timeout := min(memberProbeTimeout, timeLeft(ctx, memberProbeTimeout))
	conn, err := n.dialMember(m, timeout)
	if err != nil {
		return &convert.FieldError{Field: "raft_addr", Problem: "does not answer: " + err.Error()}
	}
	_ = conn.Close()
	return nil
}

// dialMember connects to m's raft address the way the transport would; with TLS the
// handshake must prove m's certificate (this group, ID m.ID).
func (n *Node) dialMember(m Member, timeout time.Duration) (net.Conn, error) {
	if n.cfg.TLS == nil {
		return net.DialTimeout("tcp", m.RaftAddr, timeout)
	}
	want := tlsconf.NodeIdentity(uint32(n.cfg.Group), m.ID)
	cc := n.cfg.TLS.ClientConfig(func(id tlsconf.Identity) error {
		if id != want {
			return fmt.Errorf("the certificate at %s names %s, not %s", m.RaftAddr, id, want)
		}
		return nil
	})
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", m.RaftAddr, cc)
}
