package raftfsm

// Now is the TimeUnixNano of the last applied entry: the machine's clock. A new leader
// stamps its commands no earlier than this, so the log's clock never goes back across
// a leader change even when the new leader's wall clock is behind.
func (m *Machine) Now() int64 { return m.now }
