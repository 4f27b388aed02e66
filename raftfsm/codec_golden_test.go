package raftfsm

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

var rewriteGolden = flag.Bool("rewrite-golden", false, "rewrite testdata/golden/*")

const goldenCommandsPath = "testdata/golden/commands.hex"

// goldenTime is the envelope time of every golden command: 2024-01-02T03:04:05.000000006Z.
const goldenTime int64 = 1704164645_000000006

func gdec(units int64) fixed.Dec { return fixed.FromUnits(units) }

var goldenFollowSettings = FollowSettings{
	Mode:              Proportional,
	FixedMargin:       gdec(50_00000000),
	Multiplier:        gdec(1_50000000),
	Allocation:        gdec(10_000_00000000),
	LeveragePolicy:    LeverageFixed,
	Leverage:          10,
	MarginPolicy:      MarginForceIsolated,
	PositionMode:      Hedge,
	AccountMode:       AccountModeUnified,
	Instruments:       []string{"BTC-USDT", "ETH-USDT"},
	MaxOrderNotional:  gdec(5_000_00000000),
	MaxFollowNotional: gdec(50_000_00000000),
	SlippageBps:       30,
	StopLossBps:       -2000,
	TakeProfitBps:     5000,
	LiquidationPolicy: LiqDetach,
}

var goldenTraderConfig = TraderConfig{
	Instruments:       []string{"BTC-USDT", "SOL-USDT"},
	ProfitShareBps:    1000,
	MaxCopiers:        2000,
	MinCopyAmount:     gdec(100_00000000),
	MaxCopyAmount:     gdec(100_000_00000000),
	LiquidationPolicy: LiqClose,
	SignalMaxAgeMs:    1500,
}

// goldenCommands has one representative value of every op, in op order.
// Every field is non-zero where the type allows, so the bytes pin each one.
var goldenCommands = []Command{
	Noop{},
	Bootstrap{Group: 7, Slots: []SlotRange{{0, 8191}, {12000, 16383}}, Epoch: 1},
	InstrumentUpsert{Instrument: Instrument{
		Symbol: "BTC-USDT", LotStep: gdec(100000), TickSize: gdec(10000000),
		MinQty: gdec(100000), MinNotional: gdec(5_00000000), MaxLeverage: 125,
		PriceBandBps: 500, MaxOrderQty: gdec(1000_00000000),
	}},
	RulesSet{Rules: EligibilityRules{MinWinRateBps: 5500, MinROIBps: -100, MinClosedTrades: 30, MinEquity: gdec(1000_00000000)}},
	TraderApply{
		Trader: 1001, Parent: 1000,
		Stats:  ApplicantStats{WinRateBps: 6100, ROIBps: 2500, ClosedTrades: 412, Equity: gdec(25_000_12345678)},
		Config: goldenTraderConfig,
	},
	TraderUpdate{Trader: 1001, Config: goldenTraderConfig},
	TraderPause{Trader: 1001},
	TraderResume{Trader: 1001},
	TraderExit{Trader: 1001, Policy: LiqDetach},
	Follow{Copier: 2002, CopierParent: 2000, Trader: 1001, Settings: goldenFollowSettings},
	FollowUpdate{Copier: 2002, Trader: 1001, Settings: goldenFollowSettings},
	FollowPause{Copier: 2002, Trader: 1001},
	FollowResume{Copier: 2002, Trader: 1001},
	Unfollow{Copier: 2002, Trader: 1001, ClosePositions: true},
	TradeFill{
		Trader: 1001, TradeID: 9_000_000_001, Instrument: "BTC-USDT", Side: Sell, PosSide: Short,
		Qty: gdec(25000000), Price: gdec(64_250_50000000), Leverage: 20, MarginMode: Isolated,
		Equity: gdec(25_100_00000000), Liquidation: true, MarkPrice: gdec(64_251_00000000),
		PositionAfter: gdec(75000000), Fee: gdec(803131), VenueOrderID: "8812003441", ClientOrderID: "web-7f3a",
		EventTimeUnixNano: 1704164645_123456789,
	},
	OrderResults{Results: []OrderResult{
		{ClientOrderID: "ct-1001-0000000042-2002", Status: OrderFilled, FilledQty: gdec(1200000), AvgPrice: gdec(64_250_00000000), Fee: gdec(3855000)},
		{ClientOrderID: "ct-1001-0000000042-2003", Status: OrderRejected, Reason: "INSUFFICIENT_MARGIN"},
		{ClientOrderID: "ct-1001-0000000042-2004", Status: OrderPartiallyFilled, FilledQty: gdec(100000), AvgPrice: gdec(64_249_90000000), Fee: gdec(321249)},
	}},
	MarkPrices{Prices: []MarkPrice{{"BTC-USDT", gdec(64_300_00000000)}, {"ETH-USDT", gdec(3_100_25000000)}}},
	Settle{Period: 19724},
	SettlementPaid{Outcomes: []SettlementOutcome{
		{SettlementID: "st-19724-1001-2002", Paid: true},
		{SettlementID: "st-19724-1001-2003", Reason: "ACCOUNT_FROZEN"},
	}},
	SlotFreeze{Migration: 77, Slots: []uint16{5, 6, 16383}, Target: 9, Epoch: 3},
	SlotExport{Migration: 77},
	SlotImport{Migration: 77, Source: 7, Slots: []uint16{5, 6, 16383}, Epoch: 3, Data: []byte{1, 2, 3, 0xff}, Checksum: 0xdeadbeefcafef00d},
	SlotRelease{Migration: 77},
	SlotAbort{Migration: 77},
	SlotUnfreeze{Migration: 77},
}

// separateGolden names the ops whose golden bytes are pinned by a test of their own
// (an op appended on a branch keeps out of commands.hex, so parallel branches merge
// cleanly); each entry is the test that pins it. Their files register them in init.
var separateGolden = map[Op]string{}

// toPointer returns a *T holding the value of cmd (which is a T), as Decode
// returns it.
func toPointer(cmd Command) Command {
	v := reflect.ValueOf(cmd)
	p := reflect.New(v.Type())
	p.Elem().Set(v)
	return p.Interface().(Command)
}

func TestGoldenCoversEveryOp(t *testing.T) {
	if int(opEnd) != len(opNames) {
		t.Errorf("opEnd is %d but the codec knows ops 1..%d: give a new op a name in opNames, "+
			"a body in codec_cmd.go and a golden case (or, if opEnd <= the last op, opEnd has lost its "+
			"one-past-the-end value in command.go)", opEnd, len(opNames)-1)
	}
	if len(goldenCommands)+len(separateGolden) != len(opNames)-1 {
		t.Fatalf("goldenCommands has %d commands and %d ops have their own golden test, the codec knows %d ops: add a golden case for the new op",
			len(goldenCommands), len(separateGolden), len(opNames)-1)
	}
	for op := Op(len(goldenCommands) + 1); int(op) < len(opNames); op++ {
		if _, ok := separateGolden[op]; !ok {
			t.Errorf("op %s is neither in goldenCommands nor in separateGolden", opName(op))
		}
	}
	for i, c := range goldenCommands {
		if want := Op(i + 1); c.Op() != want {
			t.Errorf("goldenCommands[%d] is %s, want %s (keep op order)", i, opName(c.Op()), opName(want))
		}
	}
	for op := Op(1); int(op) < len(opNames); op++ {
		if strings.HasPrefix(opName(op), "Op(") {
			t.Errorf("op %d has no name in opNames", op)
		}
	}
}

func TestCommandGolden(t *testing.T) {
	var got bytes.Buffer
	for _, c := range goldenCommands {
		fmt.Fprintf(&got, "%s %x\n", opName(c.Op()), Encode(Envelope{TimeUnixNano: goldenTime, Cmd: c}))
	}
	if *rewriteGolden {
		if err := os.MkdirAll(filepath.Dir(goldenCommandsPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenCommandsPath, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", goldenCommandsPath)
		return
	}
	want, err := os.ReadFile(goldenCommandsPath)
	if err != nil {
		t.Fatalf("%v (run with -rewrite-golden to create it)", err)
	}
	gotLines, wantLines := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gotLines), len(wantLines)); i++ {
		var g, w string
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Errorf("line %d: the log format changed (old logs would not replay)\n got: %s\nwant: %s", i+1, g, w)
		}
	}
}

// goldenEncodings reads commands.hex: the decoded bytes per op name.
func goldenEncodings(tb testing.TB) map[string][]byte {
	tb.Helper()
	f, err := os.Open(goldenCommandsPath)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, h, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		out[name] = b
	}
	return out
}

func TestGoldenDecodes(t *testing.T) {
	enc := goldenEncodings(t)
	for _, c := range goldenCommands {
		b, ok := enc[opName(c.Op())]
		if !ok {
			t.Errorf("%s missing from %s", opName(c.Op()), goldenCommandsPath)
			continue
		}
		env, err := Decode(b)
		if err != nil {
			t.Errorf("%s: %v", opName(c.Op()), err)
			continue
		}
		if want := (Envelope{TimeUnixNano: goldenTime, Cmd: toPointer(c)}); !reflect.DeepEqual(env, want) {
			t.Errorf("%s: decoded %+v, want %+v", opName(c.Op()), env.Cmd, want.Cmd)
		}
	}
}

func TestCommandRoundTrip(t *testing.T) {
	for _, c := range goldenCommands {
		t.Run(opName(c.Op()), func(t *testing.T) {
			ptr := toPointer(c)
			for _, env := range []Envelope{
				{TimeUnixNano: goldenTime, Cmd: c},
				{TimeUnixNano: -1, Cmd: ptr},
				{TimeUnixNano: 0, Cmd: reflect.New(reflect.TypeOf(c)).Interface().(Command)}, // zero value
			} {
				b := Encode(env)
				if a := AppendEncode([]byte("xy"), env); !bytes.Equal(a[2:], b) || string(a[:2]) != "xy" {
					t.Fatalf("AppendEncode differs from Encode")
				}
				got, err := Decode(b)
				if err != nil {
					t.Fatalf("Decode(Encode(%+v)): %v", env.Cmd, err)
				}
				want := env
				if reflect.TypeOf(want.Cmd).Kind() != reflect.Pointer {
					want.Cmd = toPointer(want.Cmd)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("round trip: got %+v, want %+v", got.Cmd, want.Cmd)
				}
				if !bytes.Equal(Encode(got), b) {
					t.Fatalf("re-encoding differs")
				}
			}
		})
	}
}

func TestNilPointerEncodesZero(t *testing.T) {
	var p *TradeFill
	got, err := Decode(Encode(Envelope{Cmd: p}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Cmd, &TradeFill{}) {
		t.Fatalf("got %+v", got.Cmd)
	}
}

func TestDecodeErrors(t *testing.T) {
	fill := Encode(Envelope{TimeUnixNano: goldenTime, Cmd: goldenCommands[OpTradeFill-1]})
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrDecode},
		{"version", append([]byte{LogVersion + 1}, fill[1:]...), ErrVersion},
		{"op zero", []byte{LogVersion, 0, 0}, ErrUnknownOp},
		{"op end", []byte{LogVersion, byte(len(opNames)), 0}, ErrUnknownOp},
		{"op 255", []byte{LogVersion, 255, 0}, ErrUnknownOp},
		{"no time", []byte{LogVersion, byte(OpNoop)}, ErrDecode},
		{"trailing", append(bytes.Clone(fill), 0), ErrDecode},
		{"truncated", fill[:len(fill)-1], ErrDecode},
		{"non-minimal varint", []byte{LogVersion, byte(OpSettle), 0, 0x81, 0x00}, ErrDecode},
		{"varint overflow", []byte{LogVersion, byte(OpSettle), 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, ErrDecode},
		{"varint too long", []byte{LogVersion, byte(OpSettle), 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00}, ErrDecode},
		{"bool 2", []byte{LogVersion, byte(OpUnfollow), 0, 2, 4, 2}, ErrDecode},
		{"symbol too long", append([]byte{LogVersion, byte(OpInstrumentUpsert), 0, MaxSymbolLen + 1}, make([]byte, 64)...), ErrDecode},
		{"huge batch", []byte{LogVersion, byte(OpOrderResults), 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrDecode},
		{"batch over remaining", []byte{LogVersion, byte(OpOrderResults), 0, 100, 0, 1, 0, 0, 0, 0}, ErrDecode},
		{"huge data", []byte{LogVersion, byte(OpSlotImport), 0, 1, 1, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrDecode},
		{"int32 range", []byte{LogVersion, byte(OpInstrumentUpsert), 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x7f}, ErrDecode},
		{"group range", []byte{LogVersion, byte(OpBootstrap), 0, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 1}, ErrDecode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in)
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrDecode) {
				t.Fatalf("Decode(%x) = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
	// Every proper prefix of every golden encoding is an error.
	for _, c := range goldenCommands {
		b := Encode(Envelope{TimeUnixNano: goldenTime, Cmd: c})
		for n := range len(b) {
			if _, err := Decode(b[:n]); !errors.Is(err, ErrDecode) {
				t.Fatalf("%s: prefix of %d bytes decoded (err %v)", opName(c.Op()), n, err)
			}
		}
	}
	_, err := Decode([]byte{LogVersion, byte(OpTradeFill), 0, 2, 2, 0x41})
	if err == nil || !strings.Contains(err.Error(), "TradeFill.Instrument") {
		t.Fatalf("error %v does not name the op and field", err)
	}
}

func TestEncodeAllocs(t *testing.T) {
	env := Envelope{TimeUnixNano: goldenTime, Cmd: toPointer(goldenCommands[OpTradeFill-1])}
	if n := testing.AllocsPerRun(100, func() { _ = Encode(env) }); n > 1 {
		t.Errorf("Encode(TradeFill) allocates %v times, want <= 1", n)
	}
	b := Encode(env)
	if n := testing.AllocsPerRun(100, func() { _, _ = Decode(b) }); n > 3 {
		t.Errorf("Decode(TradeFill) allocates %v times, want <= 3", n) // the command, its symbol, its order IDs
	}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = AppendEncode(buf[:0], env) }); n > 0 {
		t.Errorf("AppendEncode into a large buffer allocates %v times", n)
	}
}

func codecBenchResults(n int) *OrderResults {
	c := &OrderResults{Results: make([]OrderResult, n)}
	for i := range c.Results {
		c.Results[i] = OrderResult{
			ClientOrderID: fmt.Sprintf("ct-1001-%010d-%06d", 42, 2000+i),
			Status:        OrderFilled,
			FilledQty:     gdec(1200000 + int64(i)),
			AvgPrice:      gdec(64_250_00000000),
			Fee:           gdec(3855000),
		}
		if i%50 == 0 {
			c.Results[i].Status, c.Results[i].FilledQty, c.Results[i].Reason = OrderRejected, 0, "INSUFFICIENT_MARGIN"
		}
	}
	return c
}

func BenchmarkEncodeTradeFill(b *testing.B) {
	env := Envelope{TimeUnixNano: goldenTime, Cmd: toPointer(goldenCommands[OpTradeFill-1])}
	b.ReportAllocs()
	for b.Loop() {
		_ = Encode(env)
	}
}

func BenchmarkDecodeTradeFill(b *testing.B) {
	data := Encode(Envelope{TimeUnixNano: goldenTime, Cmd: goldenCommands[OpTradeFill-1]})
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeOrderResults500(b *testing.B) {
	data := Encode(Envelope{TimeUnixNano: goldenTime, Cmd: codecBenchResults(500)})
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
