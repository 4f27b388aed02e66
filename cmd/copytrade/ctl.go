package main

// `copytrade ctl`: the admin CLI. Every CopyTrade operation is one row of a table
// (ctlCommand): its words, its positional arguments, and a setup function that declares
// its flags and returns the action to run once they are parsed. The areas live in
// ctl_trader.go, ctl_follow.go, ctl_admin.go and ctl_query.go; rendering (tables or
// --json) in ctl_render.go. Exit codes: 0 ok, 1 the call failed (a refusal or a
// transport error), 2 usage; `status` has its own (0 healthy, 1 degraded, 2 unreachable).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cloudwego/kitex/client"

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/convert"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/rpc/kitexopt"
	"github.com/copytrade/copytrade/rpc/tlsconf"
	"github.com/copytrade/copytrade/shard"
)

// ctlAction runs a command whose flags have been parsed; it returns the value to render
// (nil: nothing to print).
type ctlAction func(ctx context.Context, e *ctlEnv) (any, error)

// ctlCommand is one `copytrade ctl` subcommand.
type ctlCommand struct {
	// path is the words after `ctl`, e.g. "trader apply".
	path string
	// args are positional arguments; each is also a flag of the same name, so
	// `trader get 42` and `trader get --trader 42` are the same call.
	args []string
	// summary is the one-line help.
	summary string
	// setup declares the command's flags on fs and returns its action.
	setup func(fs *flag.FlagSet) ctlAction
}

// ctlCommands is the whole command table, by area.
func ctlCommands() []ctlCommand {
	return slices.Concat(ctlTraderCommands(), ctlFollowCommands(), ctlAdminCommands(), ctlQueryCommands(), ctlOpsCommands(), ctlFillCommands(), ctlInviteCommands())
}

// ctlGlobals are the flags every command accepts, before or after its words.
type ctlGlobals struct {
	router, node     string
	token, tokenFile string
	timeout          time.Duration
	json             bool
	topology         string
	allowStale       bool
	group            uint
	venue            string
	tls              tlsconf.Files
}

func (g *ctlGlobals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.router, "router", os.Getenv("COPYTRADE_ROUTER"), "router address host:port (env COPYTRADE_ROUTER)")
	fs.StringVar(&g.node, "node", "", "a node's address host:port, instead of a router (group calls: slots, status, membership, migration)")
	fs.StringVar(&g.token, "token", "", "the caller's token (else --token-file, else env COPYTRADE_TOKEN)")
	fs.StringVar(&g.tokenFile, "token-file", "", "a file holding the caller's token")
	fs.DurationVar(&g.timeout, "timeout", 10*time.Second, "deadline of the whole command")
	fs.BoolVar(&g.json, "json", false, "print JSON (for scripts) instead of tables")
	fs.StringVar(&g.topology, "topology", os.Getenv("COPYTRADE_TOPOLOGY"), "topology file (status: every group's members; env COPYTRADE_TOPOLOGY)")
	fs.BoolVar(&g.allowStale, "stale", false, "queries: answer from any replica without confirming leadership")
	fs.StringVar(&g.tls.CA, "tls-ca", os.Getenv("COPYTRADE_TLS_CA"), "mutual TLS: the deployment's CA bundle (env COPYTRADE_TLS_CA)")
	fs.StringVar(&g.tls.Cert, "tls-cert", os.Getenv("COPYTRADE_TLS_CERT"), "mutual TLS: this tool's certificate; role admin identifies the caller without a token (env COPYTRADE_TLS_CERT)")
	fs.StringVar(&g.tls.Key, "tls-key", os.Getenv("COPYTRADE_TLS_KEY"), "mutual TLS: the certificate's key, mode 0600 (env COPYTRADE_TLS_KEY)")
	fs.StringVar(&g.venue, "venue", os.Getenv("COPYTRADE_VENUE"), "exchsim's address host:port for venue commands (env COPYTRADE_VENUE)")
	fs.UintVar(&g.group, "group", 0, "through a router: the group a group call (slots, group, noop, slot *, member *, leader *) goes to")
}

// addrs are the addresses to call: --node wins over --router.
func (g *ctlGlobals) addrs() ([]string, error) {
	a := g.router
	if g.node != "" {
		a = g.node
	}
	if a == "" {
		return nil, errUsage("no address: pass --router HOST:PORT (or --node HOST:PORT, or set COPYTRADE_ROUTER)")
	}
	return splitList(a), nil
}

// resolveToken picks --token, then --token-file, then $COPYTRADE_TOKEN.
func (g *ctlGlobals) resolveToken() (string, error) {
	if g.token != "" {
		return strings.TrimSpace(g.token), nil
	}
	if g.tokenFile != "" {
		b, err := os.ReadFile(g.tokenFile)
		if err != nil {
			return "", fmt.Errorf("token file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return strings.TrimSpace(os.Getenv("COPYTRADE_TOKEN")), nil
}

// ctlEnv is what an action sees: the parsed globals, the flag set (to tell which flags
// were given) and a lazily made client.
type ctlEnv struct {
	g      *ctlGlobals
	fs     *flag.FlagSet
	stdout io.Writer
	cli    copytrade.Client
}

// client returns a CopyTrade client for --router / --node.
func (e *ctlEnv) client() (copytrade.Client, error) {
	if e.cli != nil {
		return e.cli, nil
	}
	addrs, err := e.g.addrs()
	if err != nil {
		return nil, err
	}
	c, err := dialCopyTrade(addrs, e.g.timeout)
	if err != nil {
		return nil, err
	}
	e.cli = c
	return c, nil
}

// dialTLS are the mutual-TLS client options of this invocation of ctl or rebalance
// (useTLS sets them from the --tls-* flags); nil: plaintext.
var dialTLS []client.Option

// useTLS loads the --tls-* files, if given, for every client this invocation makes.
func (g *ctlGlobals) useTLS() error {
	dialTLS = nil
	if !g.tls.Set() {
		return nil
	}
	s, err := tlsconf.Load(g.tls)
	if err != nil {
		return err
	}
	dialTLS = kitexopt.TLSClient(s, nil)
	return nil
}

// dialCopyTrade returns a client for addrs with an RPC timeout (over mutual TLS with
// the --tls-* flags).
func dialCopyTrade(addrs []string, timeout time.Duration) (copytrade.Client, error) {
	opts := append([]client.Option{client.WithRPCTimeout(timeout), client.WithConnectTimeout(min(timeout, 2*time.Second))}, dialTLS...)
	return shard.NewClient(addrs, opts...)
}

// set reports whether flag name was given on the command line.
func (e *ctlEnv) set(name string) bool {
	found := false
	e.fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func errUsage(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// runCtl runs `copytrade ctl ARGS` and returns the process exit code.
func runCtl(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var g ctlGlobals
	gfs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	gfs.SetOutput(io.Discard)
	g.register(gfs)
	if err := gfs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			ctlUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "ctl: %v\n", err)
		return 2
	}
	cmd, rest, err := findCommand(ctlCommands(), gfs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "ctl: %v\n", err)
		ctlUsage(stderr)
		return 2
	}
	// Globals given before the command words keep their values: registering them on
	// the command's flag set resets the shared variables to their defaults.
	given := map[string]string{}
	gfs.Visit(func(f *flag.Flag) { given[f.Name] = f.Value.String() })
	fs := flag.NewFlagSet("ctl "+cmd.path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g.register(fs)
	for name, v := range given {
		_ = fs.Set(name, v)
	}
	action := cmd.setup(fs)
	if err := parseInterleaved(fs, cmd.args, rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandUsage(stdout, cmd, fs)
			return 0
		}
		fmt.Fprintf(stderr, "ctl %s: %v\n", cmd.path, err)
		commandUsage(stderr, cmd, fs)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	tok, err := g.resolveToken()
	if err != nil {
		fmt.Fprintf(stderr, "ctl %s: %v\n", cmd.path, err)
		return 2
	}
	if err := g.useTLS(); err != nil {
		fmt.Fprintf(stderr, "ctl %s: %v\n", cmd.path, err)
		return 2
	}
	if tok != "" {
		ctx = auth.WithToken(ctx, tok)
	}
	if g.group > 0 {
		ctx = router.WithGroup(ctx, uint32(g.group))
	}
	e := &ctlEnv{g: &g, fs: fs, stdout: stdout}
	v, err := action(ctx, e)
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "ctl %s: %v\n", cmd.path, err)
			return 2
		}
		var ee *exitError
		if errors.As(err, &ee) {
			fmt.Fprintf(stderr, "ctl %s: %v\n", cmd.path, err)
			return ee.code
		}
		fmt.Fprintf(stderr, "ctl %s: %s\n", cmd.path, describeError(err))
		return 1
	}
	if v == nil {
		return 0
	}
	if err := render(stdout, v, g.json); err != nil {
		fmt.Fprintf(stderr, "ctl %s: %v\n", cmd.path, err)
		return 1
	}
	if ec, ok := v.(exitCoder); ok {
		return ec.ExitCode()
	}
	return 0
}

// findCommand matches the longest command path at the start of words.
func findCommand(cmds []ctlCommand, words []string) (ctlCommand, []string, error) {
	if len(words) == 0 {
		return ctlCommand{}, nil, errUsage("no command given")
	}
	best, bestN := -1, 0
	for i, c := range cmds {
		p := strings.Fields(c.path)
		if len(p) > len(words) || len(p) <= bestN {
			continue
		}
		if slices.Equal(p, words[:len(p)]) {
			best, bestN = i, len(p)
		}
	}
	if best < 0 {
		return ctlCommand{}, nil, errUsage("unknown command %q", strings.Join(words[:min(2, len(words))], " "))
	}
	return cmds[best], words[bestN:], nil
}

// parseInterleaved parses flags and positional arguments in any order: the i-th
// positional argument sets the flag named args[i].
func parseInterleaved(fs *flag.FlagSet, args, in []string) error {
	var pos []string
	for {
		if err := fs.Parse(in); err != nil {
			return err
		}
		in = fs.Args()
		if len(in) == 0 {
			break
		}
		pos, in = append(pos, in[0]), in[1:]
	}
	if len(pos) > len(args) {
		return errUsage("unexpected argument %q", pos[len(args)])
	}
	for i, p := range pos {
		if err := fs.Set(args[i], p); err != nil {
			return fmt.Errorf("argument %s: %w", args[i], err)
		}
	}
	return nil
}

// codePrefix is an error code name leading a message.
var codePrefix = regexp.MustCompile(`^[A-Z][A-Z_]+: `)

// describeError renders a CopyTrade business error as "CODE (n): message [k=v ...]",
// anything else as itself.
func describeError(err error) string {
	st, ok := convert.StatusOf(err)
	if !ok {
		return err.Error()
	}
	var b strings.Builder
	// A refusal's message starts with the machine's own code name ("UNKNOWN_TRADER: ..."):
	// said once, in front.
	msg := codePrefix.ReplaceAllString(st.Msg, "")
	fmt.Fprintf(&b, "%s (%d): %s", st.Code, int64(st.Code), msg)
	if len(st.Extra) > 0 {
		keys := make([]string, 0, len(st.Extra))
		for k := range st.Extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(" [")
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s=%s", k, st.Extra[k])
		}
		b.WriteByte(']')
	}
	return b.String()
}

func ctlUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: copytrade ctl [global flags] COMMAND [args] [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range ctlCommands() {
		fmt.Fprintf(w, "  %-36s %s\n", strings.TrimSpace(c.path+" "+argNames(c.args)), c.summary)
	}
	fmt.Fprintln(w, "\nglobal flags (anywhere on the line):")
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	new(ctlGlobals).register(fs)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w, "\n`copytrade ctl COMMAND --help` lists a command's flags.")
}

func commandUsage(w io.Writer, c ctlCommand, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: copytrade ctl %s [flags]\n%s\n\nflags:\n", strings.TrimSpace(c.path+" "+argNames(c.args)), c.summary)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

func argNames(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = "<" + a + ">"
	}
	return strings.Join(out, " ")
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// timeLeft is the time until ctx's deadline (10 s without one), at least 1 ms.
func timeLeft(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 10 * time.Second
	}
	return max(time.Until(dl), time.Millisecond)
}
