package shard

import (
	"fmt"
	"net"
	"time"

	"github.com/bytedance/sonic"
	"github.com/google/renameio/v2"
	"github.com/hashicorp/raft"
)

// Addrs are the addresses a node's listeners are bound to. A listen address with port 0
// (RaftBindAddr, RPCAddr, HTTPAddr, PprofAddr) binds a port the kernel picks, with no
// window in which another process can take it; Addrs tells which. `copytrade node
// --addr-file` writes them (WriteAddrFile) once every listener is bound.
type Addrs struct {
	Raft          string `json:"raft"`           // the raft transport's listener
	RaftAdvertise string `json:"raft_advertise"` // what the node tells its peers to dial
	RPC           string `json:"rpc,omitempty"`  // the CopyTrade RPC server
	HTTP          string `json:"http,omitempty"` // /metrics, /livez, /readyz
	Pprof         string `json:"pprof,omitempty"`
}

// Addrs returns the bound addresses: the raft ones once New returned, the servers'
// once Start returned.
func (n *Node) Addrs() Addrs {
	n.addrsMu.Lock()
	defer n.addrsMu.Unlock()
	return n.addrs
}

func (n *Node) setAddrs(f func(a *Addrs)) {
	n.addrsMu.Lock()
	f(&n.addrs)
	n.addrsMu.Unlock()
}

// raftAdvertise is the address peers are told to dial: Config.RaftAdvertiseAddr, else
// the address the raft listener is bound to (its real port when RaftBindAddr's is 0).
func raftAdvertise(configured string, bound net.Addr) (*net.TCPAddr, error) {
	var adv *net.TCPAddr
	if configured != "" {
		a, err := net.ResolveTCPAddr("tcp", configured)
		if err != nil {
			return nil, fmt.Errorf("shard: raft advertise address %q: %w", configured, err)
		}
		adv = a
	} else {
		a, ok := bound.(*net.TCPAddr)
		if !ok {
			return nil, fmt.Errorf("shard: raft listener address %s is not TCP", bound)
		}
		adv = a
	}
	if adv.IP == nil || adv.IP.IsUnspecified() {
		return nil, fmt.Errorf("%w: the raft advertise address %s is unspecified (0.0.0.0 or ::), no peer can dial it: set RaftAdvertiseAddr", ErrInvalidConfig, adv)
	}
	return adv, nil
}

// tcpStream is the plain-TCP raft stream layer on a listener this node bound (raft's
// own TCP transport binds inside its constructor and hides the bound address).
type tcpStream struct {
	net.Listener
	advertise net.Addr
}

func (s *tcpStream) Addr() net.Addr { return s.advertise }

func (s *tcpStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(address), timeout)
}

// WriteAddrFile writes v (Addrs, or a struct embedding it) as JSON to path atomically:
// a temporary file in the same directory, synced, then renamed over path, so a reader
// polling for path sees nothing or the whole file. The file is the owner's only (0600).
func WriteAddrFile(path string, v any) error {
	b, err := sonic.Marshal(v)
	if err != nil {
		return fmt.Errorf("shard: addr file: %w", err)
	}
	if err := renameio.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("shard: addr file %s: %w", path, err)
	}
	return nil
}
