package raftfsm

import (
	"maps"
	"slices"
)

// Snapshots of a large activity history without stopping the machine.
//
// The history is most of a group's state (10,000 follows × 100 records: a
// 75 MB snapshot that took 300 ms to encode), and raft takes a snapshot on the
// FSM's goroutine: encoding it there stalled every fill for that long, on
// every node, every few thousand entries. BeginSnapshot encodes the rest of
// the state (small) at once and freezes the history: each log's ring as it
// is, a copy of the records' odd strings. A log copies its ring before its
// next write (activityLog.own), so the frozen rings are never written again
// and PendingSnapshot.Bytes can encode them on another goroutine while the
// machine applies entries. The bytes are Snapshot's at BeginSnapshot's index.

// PendingSnapshot is a snapshot begun by BeginSnapshot.
type PendingSnapshot struct {
	head []byte // everything before the activity section
	act  activityFreeze
	out  []byte
}

// BeginSnapshot starts a snapshot of the machine's state as it is now. The
// machine may go on applying entries before and while Bytes runs, on another
// goroutine; two PendingSnapshots may be open at once.
func (m *Machine) BeginSnapshot() *PendingSnapshot {
	e := encoder{buf: make([]byte, 0, m.snapshotSizeHint())}
	m.appendSnapshotHead(&e)
	p := &PendingSnapshot{head: e.buf, act: m.frozenActivity(true)}
	m.actGen++ // every log's ring now belongs to p as well: copied before a write
	return p
}

// Bytes is the snapshot's canonical bytes (Snapshot's at BeginSnapshot). Not
// safe to call concurrently with itself.
func (p *PendingSnapshot) Bytes() []byte {
	if p.out == nil {
		e := encoder{buf: p.head}
		p.act.append(&e)
		p.out = appendChecksum(e.buf)
		p.head, p.act = nil, activityFreeze{}
	}
	return p.out
}

// activityFreeze is the activity section's content at one moment.
type activityFreeze struct {
	cfg  ActivityConfig
	logs []frozenLog // copier, then trader ascending
	str  actStrings  // syms as they were (append-only); odd copied when frozen for later
}

// frozenLog is one log as it was: a copy of its header, sharing its ring.
type frozenLog struct {
	copier, trader AccountID
	log            activityLog
}

// frozenActivity is the history now. With later, the odd strings are copied:
// the machine goes on writing its own, while the rings are copied on write.
func (m *Machine) frozenActivity(later bool) activityFreeze {
	f := activityFreeze{cfg: m.actCfg, str: actStrings{syms: m.actStr.syms, odd: m.actStr.odd}}
	if later {
		f.str.odd = maps.Clone(m.actStr.odd)
	}
	n := 0
	for _, byTrader := range m.activity {
		n += len(byTrader)
	}
	f.logs = make([]frozenLog, 0, n)
	for _, c := range sortedKeys(m.activity) {
		byTrader := m.activity[c]
		for _, t := range sortedKeys(byTrader) {
			l := byTrader[t]
			f.logs = append(f.logs, frozenLog{copier: c, trader: t, log: *l})
		}
	}
	return f
}

// append writes the activity section (format: see decodeActivity's comment).
func (f *activityFreeze) append(e *encoder) {
	e.varint(f.cfg.KeepNanos)
	e.varint(int64(f.cfg.KeepPerFollow))
	e.varint(int64(f.cfg.MaxConsecutiveFailures))
	copiers := 0
	for i := range f.logs {
		if i == 0 || f.logs[i].copier != f.logs[i-1].copier {
			copiers++
		}
	}
	e.uvarint(uint64(copiers))
	for i := 0; i < len(f.logs); {
		c := f.logs[i].copier
		j := i
		for j < len(f.logs) && f.logs[j].copier == c {
			j++
		}
		e.account(c)
		e.uvarint(uint64(j - i))
		for _, l := range f.logs[i:j] {
			e.account(l.trader)
			e.uvarint(uint64(l.log.len()))
			var prevID uint64
			var prevTime int64
			for k := range l.log.len() {
				r := f.str.view(l.trader, l.log.at(k))
				e.uvarint(r.ID - prevID)
				e.varint(r.Time - prevTime)
				prevID, prevTime = r.ID, r.Time
				appendActivityRecord(e, &r)
			}
		}
		i = j
	}
}

// own makes l's ring l's alone before a write, when a snapshot begun since its
// last write (gen is the machine's actGen) may still be reading it.
func (l *activityLog) own(gen uint64) {
	if l.gen != gen {
		l.buf = slices.Clone(l.buf)
		l.gen = gen
	}
}
