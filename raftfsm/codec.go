package raftfsm

import (
	"errors"
	"fmt"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// The log codec: a hand-written binary encoding of Envelope. DESIGN.md
// ("Log format") says why it is hand-written and pins the layout:
//
//	[LogVersion byte][Op byte][TimeUnixNano zigzag varint][body]
//
// Body fields follow the Go declaration order of the command struct:
//
//	signed ints, AccountID, fixed.Dec   zigzag varint (Dec: of its units)
//	unsigned ints, IDs, epochs, slots   uvarint
//	enums (uint8 types)                 one byte
//	bool                                one byte, 0 or 1
//	string, []byte                      uvarint length, then the bytes
//	slices                              uvarint count, then the items
//
// The encoding is canonical: Decode accepts exactly the bytes Encode
// produces (minimal varints, bools 0/1, values in their type's range, no
// trailing bytes), so Encode(Decode(b)) == b for every b Decode accepts.
// Decode returns nil for an empty slice and "" for an empty string.

// Sentinel errors of Decode and Restore. Every decoding failure wraps
// ErrDecode, with the op and field in the message; an unknown op or version
// also wraps ErrUnknownOp or ErrVersion.
var (
	// ErrDecode: the bytes are not a valid encoding (truncated, a length over
	// its limit, a non-minimal varint, trailing bytes, ...).
	ErrDecode = errors.New("raftfsm: decode")
	// ErrUnknownOp: the op byte names no command this build knows.
	ErrUnknownOp = errors.New("raftfsm: unknown op")
	// ErrVersion: the format version byte is not one this build reads.
	ErrVersion = errors.New("raftfsm: unknown format version")
)

// maxSettlementIDLen bounds SettlementOutcome.SettlementID in the log. The
// machine derives settlement IDs; they must fit (a venue transfer key).
const maxSettlementIDLen = 64

// opNames are the ops' names in the golden file and in errors. Index = Op.
// Decode accepts exactly the ops named here (TestGoldenCoversEveryOp checks
// that they are OpInvalid+1 .. opEnd-1).
var opNames = [...]string{
	OpInvalid:           "Invalid",
	OpNoop:              "Noop",
	OpBootstrap:         "Bootstrap",
	OpInstrumentUpsert:  "InstrumentUpsert",
	OpRulesSet:          "RulesSet",
	OpTraderApply:       "TraderApply",
	OpTraderUpdate:      "TraderUpdate",
	OpTraderPause:       "TraderPause",
	OpTraderResume:      "TraderResume",
	OpTraderExit:        "TraderExit",
	OpFollow:            "Follow",
	OpFollowUpdate:      "FollowUpdate",
	OpFollowPause:       "FollowPause",
	OpFollowResume:      "FollowResume",
	OpUnfollow:          "Unfollow",
	OpTradeFill:         "TradeFill",
	OpOrderResults:      "OrderResults",
	OpMarkPrices:        "MarkPrices",
	OpSettle:            "Settle",
	OpSettlementPaid:    "SettlementPaid",
	OpSlotFreeze:        "SlotFreeze",
	OpSlotExport:        "SlotExport",
	OpSlotImport:        "SlotImport",
	OpSlotRelease:       "SlotRelease",
	OpSlotAbort:         "SlotAbort",
	OpSlotUnfreeze:      "SlotUnfreeze",
	OpOrderResolve:      "OrderResolve",
	OpMemberUpdate:      "MemberUpdate",
	OpActivityConfig:    "ActivityConfig",
	OpFollowEx:          "FollowEx",
	OpTraderInvite:      "TraderInvite",
	OpOrderResultsTimed: "OrderResultsTimed",
	OpFollowClosePolicy: "FollowClosePolicy",
}

// opName is op's name, or "Op(n)" for an op this build does not know.
func opName(op Op) string {
	if int(op) < len(opNames) && opNames[op] != "" {
		return opNames[op]
	}
	return fmt.Sprintf("Op(%d)", uint8(op))
}

// Encode returns the log bytes of env. Commands may be values or pointers
// (TradeFill or *TradeFill); a nil pointer encodes its zero value. A nil or
// foreign Command is a programming error and panics.
func Encode(env Envelope) []byte {
	return AppendEncode(make([]byte, 0, sizeHint(env.Cmd)), env)
}

// AppendEncode appends the log bytes of env to dst and returns the result.
func AppendEncode(dst []byte, env Envelope) []byte {
	if env.Cmd == nil {
		panic("raftfsm: Encode of a nil Command")
	}
	e := encoder{buf: dst}
	e.u8(LogVersion)
	at := len(e.buf)
	e.u8(0) // the op, known once the type switch has run
	e.varint(env.TimeUnixNano)
	e.buf[at] = uint8(encodeBody(&e, env.Cmd))
	return e.buf
}

// Decode parses one log entry. It never panics: any input that is not
// exactly an encoding Encode produces is an error wrapping ErrDecode.
// Commands are always returned as pointers (*TradeFill, *Noop, ...).
//
// Decoded strings are fresh, except that in an *OrderResults every
// ClientOrderID shares one allocation with its batch (a lookup key: clone
// it before keeping it beyond the apply).
func Decode(data []byte) (Envelope, error) {
	d := decoder{buf: data, where: "Envelope"}
	v := d.u8("Version")
	if d.err != nil {
		return Envelope{}, d.err
	}
	if v != LogVersion {
		return Envelope{}, fmt.Errorf("%w: %w: log version %d, this build reads %d", ErrDecode, ErrVersion, v, LogVersion)
	}
	op := Op(d.u8("Op"))
	if d.err != nil {
		return Envelope{}, d.err
	}
	if op == OpInvalid || int(op) >= len(opNames) {
		return Envelope{}, fmt.Errorf("%w: %w: %d", ErrDecode, ErrUnknownOp, uint8(op))
	}
	t := d.varint("TimeUnixNano")
	d.where = opNames[op]
	cmd := decodeBody(&d, op)
	if err := d.finish(); err != nil {
		return Envelope{}, err
	}
	return Envelope{TimeUnixNano: t, Cmd: cmd}, nil
}

// encoder appends the primitive encodings to buf. No reflection, no
// allocation beyond buf's growth.
type encoder struct{ buf []byte }

func (e *encoder) u8(v uint8) { e.buf = append(e.buf, v) }

func (e *encoder) bool(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

func (e *encoder) uvarint(v uint64) {
	for v >= 0x80 {
		e.buf = append(e.buf, byte(v)|0x80)
		v >>= 7
	}
	e.buf = append(e.buf, byte(v))
}

// varint is the zigzag encoding of v as a uvarint.
func (e *encoder) varint(v int64) { e.uvarint(uint64(v<<1) ^ uint64(v>>63)) }

func (e *encoder) dec(v fixed.Dec) { e.varint(v.Units()) }

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) bytes(b []byte) {
	e.uvarint(uint64(len(b)))
	e.buf = append(e.buf, b...)
}

func (e *encoder) strs(ss []string) {
	e.uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *encoder) u16s(vs []uint16) {
	e.uvarint(uint64(len(vs)))
	for _, v := range vs {
		e.uvarint(uint64(v))
	}
}

// decoder reads the primitive encodings from buf with a sticky error: after
// the first failure every read returns a zero value and err keeps the first
// failure, so callers check once at the end. where names the op or state
// struct being read, for the error message.
type decoder struct {
	buf   []byte
	off   int
	err   error
	where string

	// arena, when set, backs strings read with arenaStr: arena[i] ==
	// buf[arenaOff+i]. One allocation for a whole batch's keys.
	arena    string
	arenaOff int

	// syms, when non-nil, interns strings read with sym (instrument symbols
	// in state: thousands of positions share a few symbols).
	syms map[string]string

	// legacy: decoding a snapshot of oldestSnapshotVersion (fields added
	// since are absent).
	legacy bool
}

// maxInterned bounds d.syms: past it, sym allocates like str.
const maxInterned = 4096

// fail records the first error; later ones are dropped.
func (d *decoder) fail(field, problem string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s.%s: %s at byte %d", ErrDecode, d.where, field, problem, d.off)
		d.off = len(d.buf) // stop every later read
	}
}

// finish reports the sticky error, or trailing bytes.
func (d *decoder) finish() error {
	if d.err == nil && d.off != len(d.buf) {
		d.err = fmt.Errorf("%w: %s: %d trailing bytes", ErrDecode, d.where, len(d.buf)-d.off)
	}
	return d.err
}

func (d *decoder) remaining() int { return len(d.buf) - d.off }

func (d *decoder) u8(field string) uint8 {
	if d.off >= len(d.buf) {
		d.fail(field, "truncated")
		return 0
	}
	v := d.buf[d.off]
	d.off++
	return v
}

func (d *decoder) bool(field string) bool {
	switch d.u8(field) {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail(field, "bool not 0 or 1")
		return false
	}
}

// uvarint reads a minimal base-128 varint of at most 10 bytes.
func (d *decoder) uvarint(field string) uint64 {
	if d.off < len(d.buf) && d.buf[d.off] < 0x80 { // fast path: one byte
		v := d.buf[d.off]
		d.off++
		return uint64(v)
	}
	var x uint64
	var s uint
	for i := 0; i < 10; i++ {
		if d.off+i >= len(d.buf) {
			d.fail(field, "truncated varint")
			return 0
		}
		b := d.buf[d.off+i]
		if b < 0x80 {
			if b == 0 && i > 0 {
				d.fail(field, "non-minimal varint")
				return 0
			}
			if i == 9 && b > 1 {
				d.fail(field, "varint overflows 64 bits")
				return 0
			}
			d.off += i + 1
			return x | uint64(b)<<s
		}
		x |= uint64(b&0x7f) << s
		s += 7
	}
	d.fail(field, "varint overflows 64 bits")
	return 0
}

func (d *decoder) varint(field string) int64 {
	u := d.uvarint(field)
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) int32(field string) int32 {
	v := d.varint(field)
	if v != int64(int32(v)) {
		d.fail(field, "out of int32 range")
		return 0
	}
	return int32(v)
}

func (d *decoder) uint32(field string) uint32 {
	v := d.uvarint(field)
	if v > 1<<32-1 {
		d.fail(field, "out of uint32 range")
		return 0
	}
	return uint32(v)
}

func (d *decoder) uint16(field string) uint16 {
	v := d.uvarint(field)
	if v > 1<<16-1 {
		d.fail(field, "out of uint16 range")
		return 0
	}
	return uint16(v)
}

func (d *decoder) dec(field string) fixed.Dec { return fixed.FromUnits(d.varint(field)) }

func (d *decoder) account(field string) AccountID { return AccountID(d.varint(field)) }

// length reads a byte length: at most max and at most what remains.
func (d *decoder) length(field string, max int) int {
	n := d.uvarint(field)
	if d.err != nil {
		return 0
	}
	if n > uint64(max) {
		d.fail(field, fmt.Sprintf("length %d over limit %d", n, max))
		return 0
	}
	if n > uint64(d.remaining()) {
		d.fail(field, fmt.Sprintf("length %d over the %d bytes left", n, d.remaining()))
		return 0
	}
	return int(n)
}

// count reads an item count: at most max, and at most what remains given
// that every item takes at least minItem bytes. So a count never allocates
// more than the input could fill.
func (d *decoder) count(field string, max, minItem int) int {
	n := d.uvarint(field)
	if d.err != nil {
		return 0
	}
	if n > uint64(max) {
		d.fail(field, fmt.Sprintf("count %d over limit %d", n, max))
		return 0
	}
	if n*uint64(minItem) > uint64(d.remaining()) {
		d.fail(field, fmt.Sprintf("count %d cannot fit in the %d bytes left", n, d.remaining()))
		return 0
	}
	return int(n)
}

// str reads a string of at most max bytes.
func (d *decoder) str(field string, max int) string {
	n := d.length(field, max)
	if n == 0 {
		return ""
	}
	s := string(d.buf[d.off : d.off+n])
	d.off += n
	return s
}

// sym is str, interned in d.syms when it is set.
func (d *decoder) sym(field string, max int) string {
	if d.syms == nil {
		return d.str(field, max)
	}
	n := d.length(field, max)
	if n == 0 {
		return ""
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	if s, ok := d.syms[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if len(d.syms) < maxInterned {
		d.syms[s] = s
	}
	return s
}

// arenaStr is str, backed by d.arena when set.
func (d *decoder) arenaStr(field string, max int) string {
	n := d.length(field, max)
	if n == 0 {
		return ""
	}
	if d.arena == "" {
		s := string(d.buf[d.off : d.off+n])
		d.off += n
		return s
	}
	s := d.arena[d.off-d.arenaOff : d.off-d.arenaOff+n]
	d.off += n
	return s
}

// bytes reads a byte string (a fresh copy) of at most max bytes.
func (d *decoder) bytes(field string, max int) []byte {
	n := d.length(field, max)
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	copy(b, d.buf[d.off:])
	d.off += n
	return b
}

func (d *decoder) strs(field string, maxCount, maxLen int) []string {
	n := d.count(field, maxCount, 1)
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.str(field, maxLen)
	}
	return ss
}

func (d *decoder) u16s(field string, maxCount int) []uint16 {
	n := d.count(field, maxCount, 1)
	if n == 0 {
		return nil
	}
	vs := make([]uint16, n)
	for i := range vs {
		vs[i] = d.uint16(field)
	}
	return vs
}
