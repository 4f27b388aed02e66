package exchsim

import (
	"hash/maphash"
	"sync"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// The order record.
//
// The venue keeps every order for the life of the process (QueryOrders and
// OrderCount must answer for any ID), so a long benchmark holds millions. A
// map[string]*entry made the garbage collector rescan all of them on every cycle
// and cost 4x the order path itself. The store below holds no Go pointers per
// order: the index maps a 64-bit hash to a record number, records are plain
// structs in a slice, IDs are bytes in an arena, and only rejected orders keep
// strings (their message) in a side map.

// orderShard holds the orders whose client order ID hashes to it.
type orderShard struct {
	mu   sync.Mutex
	cond sync.Cond // L is &mu; broadcast when a pending record completes

	index   idIndex      // ID hash → record number + 1 of the newest record with that hash
	recs    [][]orderRec // chunks of recChunk records: growth never copies old ones
	ids     [][]byte     // chunks of client order ID bytes, idChunk each
	nrecs   int
	rejects map[uint32]rejectRec // record number → strings of a rejected order
	waiters int                  // goroutines waiting in cond
}

const (
	recChunk = 1024
	idChunk  = 32 << 10
)

type orderRec struct {
	idOff    uint32 // the ID is ids[idOff/idChunk][idOff%idChunk:][:idLen]
	idLen    uint8
	pending  bool   // the first order for the ID is still executing
	nextSame uint32 // record number + 1 of an older record with the same hash
	count    uint32 // orders created for the ID
	res      packedResult
}

// packedResult is an OrderResult without strings: the ID is the record's, the
// instrument is an index into the listed instruments (+1; 0 = see rejects).
type packedResult struct {
	orderID, account, time  int64
	filled, price, fee, pnl fixed.Dec
	instrument              uint16
	side                    Side
	posSide                 PositionSide
	status                  OrderStatus
	reason                  RejectReason
}

type rejectRec struct {
	instrument string // only when not a listed instrument
	message    string
}

func (s *Sim) initOrders() {
	for i := range s.orders {
		sh := &s.orders[i]
		sh.cond.L = &sh.mu
		sh.rejects = make(map[uint32]rejectRec)
	}
}

func (s *Sim) orderShardFor(id string) (*orderShard, uint64) {
	h := maphash.String(s.seed, id)
	return &s.orders[h&(orderShards-1)], h
}

// rec returns record n; sh.mu must be held.
func (sh *orderShard) rec(n int) *orderRec { return &sh.recs[n/recChunk][n%recChunk] }

// find returns the record number of id, or -1; sh.mu must be held.
func (sh *orderShard) find(h uint64, id string) int {
	return sh.findFrom(sh.index.get(h), id)
}

// findFrom is find along the chain that starts at record head (number + 1).
func (sh *orderShard) findFrom(head uint32, id string) int {
	for n := head; n != 0; {
		r := sh.rec(int(n - 1))
		if int(r.idLen) == len(id) && string(sh.ids[r.idOff/idChunk][r.idOff%idChunk:][:r.idLen]) == id {
			return int(n - 1)
		}
		n = r.nextSame
	}
	return -1
}

// findOrInsert returns the record number of id and true, or adds a pending record for
// it and returns that record's number and false; sh.mu must be held. One probe of the
// index serves both.
func (sh *orderShard) findOrInsert(h uint64, id string) (int, bool) {
	head := sh.index.slot(h)
	if n := sh.findFrom(*head, id); n >= 0 {
		return n, true
	}
	return sh.insertAt(head, id), false
}

// insertAt adds a pending record for id whose index cell is head and returns its
// number; sh.mu must be held. An ID never straddles two chunks.
func (sh *orderShard) insertAt(head *uint32, id string) int {
	n := sh.nrecs
	if n%recChunk == 0 {
		sh.recs = append(sh.recs, make([]orderRec, recChunk))
	}
	last := len(sh.ids) - 1
	if last < 0 || len(sh.ids[last])+len(id) > idChunk {
		sh.ids = append(sh.ids, make([]byte, 0, idChunk))
		last++
	}
	*sh.rec(n) = orderRec{
		idOff: uint32(last*idChunk + len(sh.ids[last])), idLen: uint8(len(id)),
		pending: true, count: 1, nextSame: *head,
	}
	sh.ids[last] = append(sh.ids[last], id...)
	*head = uint32(n + 1)
	sh.nrecs++
	return n
}

// wait blocks until record n is complete; sh.mu must be held. Executing an order
// never blocks, so the wait is short.
func (sh *orderShard) wait(n int) {
	for sh.rec(n).pending {
		sh.waiters++
		sh.cond.Wait()
		sh.waiters--
	}
}

// complete stores the result of record n and wakes its waiters.
func (s *Sim) complete(sh *orderShard, n int, r *OrderResult) {
	p := packedResult{
		orderID: r.OrderID, account: r.Account, time: r.TimeUnixNano, filled: r.FilledQty,
		price: r.AvgPrice, fee: r.Fee, pnl: r.RealizedPnL, side: r.Side, posSide: r.PositionSide,
		status: r.Status, reason: r.Reason,
	}
	var rej rejectRec
	if in := s.instrument(r.Instrument); in != nil {
		p.instrument = uint16(in.index + 1)
	} else {
		rej.instrument = r.Instrument
	}
	rej.message = r.Message
	sh.mu.Lock()
	r2 := sh.rec(n)
	r2.res, r2.pending = p, false
	if rej != (rejectRec{}) {
		sh.rejects[uint32(n)] = rej
	}
	if sh.waiters > 0 {
		sh.cond.Broadcast()
	}
	sh.mu.Unlock()
}

// result rebuilds the OrderResult of record n; sh.mu must be held.
func (s *Sim) result(sh *orderShard, n int, id string) OrderResult {
	p := &sh.rec(n).res
	r := OrderResult{
		ClientOrderID: id, OrderID: p.orderID, Account: p.account, Side: p.side, PositionSide: p.posSide,
		Status: p.status, FilledQty: p.filled, AvgPrice: p.price, Fee: p.fee, RealizedPnL: p.pnl,
		Reason: p.reason, TimeUnixNano: p.time,
	}
	if p.instrument != 0 {
		r.Instrument = s.instruments.Load().byIndex[p.instrument-1].spec.Load().Symbol
	}
	if rej, ok := sh.rejects[uint32(n)]; ok {
		r.Message = rej.message
		if p.instrument == 0 {
			r.Instrument = rej.instrument
		}
	}
	return r
}
