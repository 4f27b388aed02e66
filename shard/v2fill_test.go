package shard

import (
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// venueV2 completes a test fill as a venue that agrees with the machine sends
// it under fill contract v2: venue time now, and the trader's position after
// the fill from the position n tracks (hedge sides grow or shrink, one-way
// nets).
func venueV2(n *Node, f *raftfsm.TradeFill) {
	var long, short fixed.Dec
	n.fsm.read(func(m *raftfsm.Machine) {
		if tv, ok := m.Trader(f.Trader); ok {
			for _, p := range tv.Positions {
				if p.Instrument != f.Instrument {
					continue
				}
				if p.Side == raftfsm.Long {
					long = p.Qty
				} else {
					short = p.Qty
				}
			}
		}
	})
	f.EventTimeUnixNano = time.Now().UnixNano()
	switch {
	case f.PosSide == raftfsm.Both && f.Side == raftfsm.Buy:
		f.PositionAfter = long - short + f.Qty
	case f.PosSide == raftfsm.Both:
		f.PositionAfter = long - short - f.Qty
	default:
		q := long
		if f.PosSide == raftfsm.Short {
			q = short
		}
		grows := (f.PosSide == raftfsm.Long) == (f.Side == raftfsm.Buy)
		if grows {
			f.PositionAfter = q + f.Qty
		} else {
			f.PositionAfter = max(q-f.Qty, 0)
		}
	}
}
