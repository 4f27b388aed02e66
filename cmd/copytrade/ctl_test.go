package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bytedance/sonic"

	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

func TestFindCommandLongestMatch(t *testing.T) {
	cmds := ctlCommands()
	for _, tc := range []struct {
		words    []string
		path     string
		rest     []string
		wantFail bool
	}{
		{words: []string{"trader", "get", "42"}, path: "trader get", rest: []string{"42"}},
		{words: []string{"follow", "pause", "1", "2", "--json"}, path: "follow pause", rest: []string{"1", "2", "--json"}},
		{words: []string{"status"}, path: "status", rest: []string{}},
		{words: []string{"trader"}, wantFail: true},
		{words: []string{"nonsense", "x"}, wantFail: true},
		{words: nil, wantFail: true},
	} {
		c, rest, err := findCommand(cmds, tc.words)
		if tc.wantFail {
			if err == nil {
				t.Errorf("%v: found %q, want an error", tc.words, c.path)
			}
			continue
		}
		if err != nil || c.path != tc.path || !slices.Equal(rest, tc.rest) {
			t.Errorf("%v: got %q %v %v, want %q %v", tc.words, c.path, rest, err, tc.path, tc.rest)
		}
	}
}

// Every command's setup must declare a flag for each positional argument, and paths
// must be unique: the table is the CLI.
func TestCommandTableConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range ctlCommands() {
		if seen[c.path] {
			t.Errorf("command %q is listed twice", c.path)
		}
		seen[c.path] = true
		fs := flag.NewFlagSet(c.path, flag.ContinueOnError)
		new(ctlGlobals).register(fs)
		c.setup(fs)
		for _, a := range c.args {
			if fs.Lookup(a) == nil {
				t.Errorf("command %q: positional argument %q has no flag", c.path, a)
			}
		}
		if c.summary == "" {
			t.Errorf("command %q has no summary", c.path)
		}
	}
}

func TestParseInterleaved(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	trader := fs.Int64("trader", 0, "")
	copier := fs.Int64("copier", 0, "")
	asJSON := fs.Bool("json", false, "")
	if err := parseInterleaved(fs, []string{"trader", "copier"}, []string{"7", "--json", "9"}); err != nil {
		t.Fatal(err)
	}
	if *trader != 7 || *copier != 9 || !*asJSON {
		t.Fatalf("trader=%d copier=%d json=%v", *trader, *copier, *asJSON)
	}
	if err := parseInterleaved(fs, []string{"trader"}, []string{"1", "2"}); err == nil {
		t.Fatal("an extra positional argument was accepted")
	}
	if err := parseInterleaved(fs, []string{"trader"}, []string{"x"}); err == nil {
		t.Fatal("a non-numeric trader was accepted")
	}
}

func TestSlots(t *testing.T) {
	got, err := parseSlots("9000, 0-3,2,16383")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{0, 1, 2, 3, 9000, 16383}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if s := formatSlots(got); s != "0-3,9000,16383" {
		t.Fatalf("formatSlots = %q", s)
	}
	for _, bad := range []string{"5-2", "16384", "-1", "a-b", "3-x"} {
		if _, err := parseSlots(bad); err == nil {
			t.Errorf("parseSlots(%q) accepted", bad)
		}
	}
}

func TestEnumFlag(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	mode := enumFlag(fs, "mode", ct.CopyMode_FIXED_AMOUNT, ct.CopyModeFromString, "")
	for in, want := range map[string]ct.CopyMode{"multiplier": ct.CopyMode_MULTIPLIER, "FIXED_AMOUNT": ct.CopyMode_FIXED_AMOUNT,
		"fixed-amount": ct.CopyMode_FIXED_AMOUNT, "3": ct.CopyMode_PROPORTIONAL} {
		if err := fs.Set("mode", in); err != nil || *mode != want {
			t.Errorf("--mode %s: got %v %v, want %v", in, *mode, err, want)
		}
	}
	if err := fs.Set("mode", "sideways"); err == nil {
		t.Error("an unknown enum name was accepted")
	}
}

// An update sends the current settings with only the flags given changed.
func TestUpdateKeepsUnsetFields(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	apply := followSettingsFlags(fs)
	if err := fs.Parse([]string{"--slippage-bps", "25", "--mode", "multiplier", "--multiplier", "0.5"}); err != nil {
		t.Fatal(err)
	}
	e := &ctlEnv{fs: fs}
	cur := &ct.FollowSettings{Mode: ct.CopyMode_FIXED_AMOUNT, FixedMargin: "100", Allocation: "5000",
		PositionMode: ct.PositionMode_ONE_WAY, MaxOrderNotional: "700", Instruments: []string{"BTCUSDT"}}
	got := apply(e, cur)
	if got.SlippageBps != 25 || got.Mode != ct.CopyMode_MULTIPLIER || got.Multiplier != "0.5" {
		t.Errorf("flags given were not applied: %+v", got)
	}
	if got.Allocation != "5000" || got.PositionMode != ct.PositionMode_ONE_WAY || got.MaxOrderNotional != "700" ||
		got.FixedMargin != "100" || !slices.Equal(got.Instruments, []string{"BTCUSDT"}) {
		t.Errorf("fields not given were changed: %+v", got)
	}
	if cur.SlippageBps != 0 {
		t.Error("the current settings were modified in place")
	}
	fresh := apply(e, nil)
	if fresh.Allocation != "1000" || fresh.LeveragePolicy != ct.LeveragePolicy_FOLLOW_TRADER {
		t.Errorf("a new follow does not get the defaults: %+v", fresh)
	}
}

func TestDescribeError(t *testing.T) {
	err := convert.BizError(ct.ErrorCode_MOVED, "slot 7 moved", map[string]string{ct.EXTRA_GROUP: "2", ct.EXTRA_EPOCH: "5"})
	if got, want := describeError(err), "MOVED (1015): slot 7 moved [epoch=5 group=2]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := describeError(errors.New("dial tcp: refused")); got != "dial tcp: refused" {
		t.Errorf("a plain error became %q", got)
	}
}

func TestRenderHumanAndJSON(t *testing.T) {
	v := &ct.ListFollowersResponse{Follows: []*ct.FollowView{
		{Trader: 1, Copier: 100, Status: ct.FollowStatus_ACTIVE, Settings: &ct.FollowSettings{Mode: ct.CopyMode_MULTIPLIER, Allocation: "1000"},
			Positions: []*ct.Position{{Instrument: "BTCUSDT"}}},
	}, NextAfterCopier: 100}
	var b bytes.Buffer
	if err := render(&b, v, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"next_after_copier  100", "follows:", "TRADER", "COPIER", "MODE", "ACTIVE", "MULTIPLIER", "#POSITIONS"} {
		if !strings.Contains(out, want) {
			t.Errorf("human output lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := render(&b, v, true); err != nil {
		t.Fatal(err)
	}
	var back ct.ListFollowersResponse
	if err := sonic.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("--json is not JSON: %v\n%s", err, b.String())
	}
	if back.NextAfterCopier != 100 || back.Follows[0].Copier != 100 || back.Follows[0].Settings.Mode != ct.CopyMode_MULTIPLIER {
		t.Errorf("--json round trip lost data: %s", b.String())
	}
}

func TestCtlKeygenAndToken(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.json")
	var out, errOut bytes.Buffer
	if code := runCtl(context.Background(), []string{"keygen", "--out", keys}, &out, &errOut); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errOut.String())
	}
	if code := runCtl(context.Background(), []string{"keygen", "--out", keys}, &out, &errOut); code == 0 {
		t.Fatal("keygen overwrote an existing key file")
	}
	ks, err := auth.LoadKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	code := runCtl(context.Background(), []string{"token", "--keys", keys, "--identity", "42", "--role", "account", "--ttl", "1h"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	g, err := auth.NewGuard(auth.Config{Keys: ks})
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Verify(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("minted token does not verify: %v", err)
	}
	if c.Identity != "42" || c.Role != auth.AccountRole(42) || time.Until(c.Expiry) > time.Hour+time.Minute {
		t.Errorf("claims %+v", c)
	}
	for _, args := range [][]string{
		{"token", "--keys", keys, "--identity", "bob", "--role", "account"},   // account needs a numeric identity
		{"token", "--keys", keys, "--identity", "ops", "--role", "superuser"}, // unknown role
		{"token", "--identity", "ops", "--role", "admin"},                     // no key file
		{"token", "--keys", keys, "--identity", "7", "--role", "account:8"},   // identity and role disagree
		{"token", "--keys", keys, "--identity", "ops", "--role", "admin", "--key", "nope"},
	} {
		out.Reset()
		errOut.Reset()
		if code := runCtl(context.Background(), args, &out, &errOut); code == 0 {
			t.Errorf("%v: minted %q", args, out.String())
		}
	}
}

func TestCtlUsageErrors(t *testing.T) {
	t.Setenv("COPYTRADE_ROUTER", "")
	var out, errOut bytes.Buffer
	if code := runCtl(context.Background(), []string{"frobnicate"}, &out, &errOut); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
	if code := runCtl(context.Background(), []string{"trader", "get", "1"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--router") {
		t.Errorf("no address: exit %d, stderr %q", code, errOut.String())
	}
	out.Reset()
	if code := runCtl(context.Background(), []string{"trader", "get", "--help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "-trader") {
		t.Errorf("--help: exit %d, %q", code, out.String())
	}
	tokFile := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(tokFile, []byte(" abc \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &ctlGlobals{tokenFile: tokFile}
	if tok, err := g.resolveToken(); err != nil || tok != "abc" {
		t.Errorf("token file: %q %v", tok, err)
	}
	t.Setenv("COPYTRADE_TOKEN", "fromenv")
	if tok, _ := (&ctlGlobals{}).resolveToken(); tok != "fromenv" {
		t.Errorf("env token: %q", tok)
	}
	if tok, _ := (&ctlGlobals{token: "flag", tokenFile: tokFile}).resolveToken(); tok != "flag" {
		t.Errorf("--token must win: %q", tok)
	}
}
