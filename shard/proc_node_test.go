package shard

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bytedance/sonic"
	"github.com/cloudwego/kitex/pkg/klog"
	"github.com/hashicorp/raft"

	"github.com/copytrade/copytrade/raftfsm"
)

// A shard node as a real process: the test binary re-executed with procEnv set to a
// procSpec (JSON). It runs one Node (disk fault handler: the default, exit 75) and a
// control HTTP server for the test: state (applied index, hash, ledger), failpoints,
// clock offset, snapshot, and a scan of its own raft log. The parent test sends it
// SIGKILL, SIGSTOP/SIGCONT or SIGTERM.
//
// Every listener (raft, RPC, control) binds port 0 in the node process itself; once all
// are bound the node writes their addresses to AddrFile (WriteAddrFile, as `copytrade
// node --addr-file`), and the parent points its proxies at them. No port is picked by
// one process and bound by another, so none can be taken in between.

const procEnv = "SHARD_PROC_NODE"

type procSpec struct {
	NodeID        string
	DataDir       string
	RaftAddr      string // listen (port 0)
	RaftAdvertise string // what the peers are told: the node's own raft proxy
	RPCAddr       string // listen (port 0)
	CtlAddr       string // listen (port 0)
	AddrFile      string // where the bound addresses are written (procAddrs)
	Gateway       string
	Members       []Member
	PeerAddrs     map[string]string
	Trailing      uint64 // TrailingLogsEntries (small: a far-behind follower needs a snapshot)
	Settle        bool   // daily settlement on
	Trader        int64  // the trader whose copiers /state reports
	Copiers       []int64
}

// procAddrs is what a node process writes to its AddrFile once every listener is bound.
type procAddrs struct {
	Addrs
	Ctl string `json:"ctl"`
}

// procState is what /state reports.
type procState struct {
	ID          string
	Leader      bool
	Applied     uint64
	Hash        string
	Pending     int
	SignalSeq   uint64
	OrderSeq    uint64
	LastSettled uint64
	Positions   map[int64][2]int64 // copier → long, short (fixed-point raw)
}

// procLogScan is what /logscan reports about the node's own raft log.
type procLogScan struct {
	Entries     int
	Monotonic   bool     // every command's stamp is later than the previous one's
	SettleOrder []uint64 // the periods of Settle commands, in log order
	FirstBad    string
	First, Last uint64
	StampsFrom  int64
	StampsUntil int64
}

func init() {
	if s := os.Getenv(procEnv); s != "" {
		os.Exit(runProcNode(s))
	}
}

func runProcNode(js string) int {
	klog.SetLevel(klog.LevelFatal)
	// A node outlives a test process that died (a timeout's panic, a kill): it would
	// run on, holding CPU and ports, until the box reboots. It ends once it has been
	// re-parented.
	go func(parent int) {
		for range time.Tick(200 * time.Millisecond) {
			if os.Getppid() != parent {
				os.Exit(4)
			}
		}
	}(os.Getppid())
	var sp procSpec
	if err := sonic.UnmarshalString(js, &sp); err != nil {
		fmt.Fprintln(os.Stderr, "proc node: spec:", err)
		return 2
	}
	var offset atomic.Int64
	fp := &Failpoints{}
	cfg := DefaultConfig()
	cfg.NodeID, cfg.Group, cfg.DataDir = sp.NodeID, 1, sp.DataDir
	cfg.RaftBindAddr, cfg.RaftAdvertiseAddr = sp.RaftAddr, sp.RaftAdvertise
	cfg.RPCAddr, cfg.GatewayAddrs = sp.RPCAddr, []string{sp.Gateway}
	cfg.Members, cfg.Bootstrap, cfg.RaftPeerAddrs = sp.Members, true, sp.PeerAddrs
	cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 200*time.Millisecond, 200*time.Millisecond, 100*time.Millisecond
	cfg.DispatchTimeout, cfg.FenceMargin = 500*time.Millisecond, 200*time.Millisecond
	cfg.ReconcileInterval, cfg.ReconcileMaxBackoff = 50*time.Millisecond, 400*time.Millisecond
	cfg.MarkPriceInterval, cfg.SettlementPeriod = 0, 0
	if sp.Settle {
		cfg.SettlementPeriod = SettleDaily
	}
	if sp.Trailing > 0 {
		cfg.TrailingLogsEntries = sp.Trailing
	}
	cfg.DispatchBatchSize, cfg.DispatchParallelism = 20, 2
	cfg.NoSync = false // real fsync: a SIGKILL must not lose what was acknowledged
	cfg.Failpoints = fp
	cfg.Clock = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	// Info to stderr, which the parent sends to <data>/<id>.log and prints on failure.
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	n, err := New(cfg, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "proc node:", err)
		if errors.Is(err, ErrCorruptStore) {
			return 3
		}
		return 1
	}
	if err := n.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "proc node: start:", err)
		return 1
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/state", func(w http.ResponseWriter, r *http.Request) {
		st := procState{ID: n.ID(), Leader: n.IsLeader(), Positions: map[int64][2]int64{}}
		n.Read(func(m *raftfsm.Machine) {
			h := m.Hash()
			st.Hash, st.Applied, st.Pending = hex.EncodeToString(h[:]), m.AppliedIndex(), len(m.PendingOrders())
			st.LastSettled = m.LastSettledPeriod()
			if tv, ok := m.Trader(raftfsm.AccountID(sp.Trader)); ok {
				st.SignalSeq, st.OrderSeq = tv.SignalSeq, tv.OrderSeq
			}
			for _, cp := range sp.Copiers {
				var pos [2]int64
				if f, ok := m.Follow(raftfsm.AccountID(cp), raftfsm.AccountID(sp.Trader)); ok {
					for _, p := range f.Positions {
						if p.Side == raftfsm.Long {
							pos[0] += int64(p.Qty)
						} else {
							pos[1] += int64(p.Qty)
						}
					}
				}
				st.Positions[cp] = pos
			}
		})
		b, _ := sonic.Marshal(st)
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/failpoint", func(w http.ResponseWriter, r *http.Request) {
		after, _ := strconv.Atoi(r.FormValue("after"))
		var e error = syscall.EIO
		if r.FormValue("err") == "enospc" {
			e = syscall.ENOSPC
		}
		fp.FailAfter(DiskOp(r.FormValue("op")), after, e)
	})
	mux.HandleFunc("/clock", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.FormValue("offset"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		offset.Store(int64(d))
	})
	mux.HandleFunc("/snapshot", func(w http.ResponseWriter, r *http.Request) {
		if err := n.Snapshot(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/logscan", func(w http.ResponseWriter, r *http.Request) {
		b, _ := sonic.Marshal(scanLog(n))
		_, _ = w.Write(b)
	})
	ln, err := net.Listen("tcp", sp.CtlAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "proc node: control listener:", err)
		return 1
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	if err := WriteAddrFile(sp.AddrFile, procAddrs{Addrs: n.Addrs(), Ctl: ln.Addr().String()}); err != nil {
		fmt.Fprintln(os.Stderr, "proc node:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
	_ = srv.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Shutdown(sctx); err != nil {
		return 1
	}
	return 0
}

// scanLog reads the node's raft log: command stamps must strictly increase, and the
// Settle commands' periods are listed in log order.
func scanLog(n *Node) procLogScan {
	out := procLogScan{Monotonic: true}
	first, _ := n.store.FirstIndex()
	last, _ := n.store.LastIndex()
	out.First, out.Last = first, last
	var prev int64
	for i := first; i <= last && i > 0; i++ {
		var l raft.Log
		if err := n.store.GetLog(i, &l); err != nil || l.Type != raft.LogCommand {
			continue
		}
		env, err := raftfsm.Decode(l.Data)
		if err != nil {
			continue
		}
		out.Entries++
		if out.StampsFrom == 0 {
			out.StampsFrom = env.TimeUnixNano
		}
		out.StampsUntil = env.TimeUnixNano
		if env.TimeUnixNano <= prev && out.Monotonic {
			out.Monotonic = false
			out.FirstBad = fmt.Sprintf("index %d: stamp %d after %d", i, env.TimeUnixNano, prev)
		}
		prev = env.TimeUnixNano
		if s, ok := env.Cmd.(*raftfsm.Settle); ok {
			out.SettleOrder = append(out.SettleOrder, s.Period)
		}
	}
	return out
}
