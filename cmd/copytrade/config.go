package main

// One config file per serving process (TOML, github.com/BurntSushi/toml). Its keys are
// the process's flag names (dashes or underscores), so the file and the command line
// say the same thing and a flag given on the command line overrides the file:
//
//	role = "node"                     # node or router: which command the file is for
//	id = "n1"
//	group = 1
//	data = "/var/lib/copytrade/n1"
//	raft = "10.0.0.1:7001"
//	rpc = "10.0.0.1:7101"
//	http = "10.0.0.1:9101"
//	keys = "/etc/copytrade/keys.json"
//	gateway = ["10.0.0.9:7400"]
//	election_timeout = "300ms"
//	[[members]]                       # node: the bootstrap members (stored in the group after)
//	id = "n1"
//	raft = "10.0.0.1:7001"
//	rpc = "10.0.0.1:7101"
//
// `copytrade config check FILE` validates a file as the command would, without starting
// anything, and names the bad setting.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

func init() {
	commands["config"] = command{"check a node's or router's config file: copytrade config check FILE", runConfig}
}

// configRoles are the commands that take --config, by the role a file names.
var configRoles = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) int{
	"node":   runNode,
	"router": runRouter,
}

// readConfig decodes a config file into its settings, by key.
func readConfig(path string) (map[string]any, error) {
	var raw map[string]any
	if _, err := toml.DecodeFile(path, &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: line %d: %s", path, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return raw, nil
}

// applyConfig sets every flag of fs that the config file at path names and the command
// line did not set. role is the command; a file for another role is refused. Unknown
// settings and bad values are errors naming the setting.
func applyConfig(fs *flag.FlagSet, path, role string) error {
	raw, err := readConfig(path)
	if err != nil {
		return err
	}
	if r, ok := raw["role"]; ok {
		if s, _ := r.(string); s != role {
			return fmt.Errorf("%s: role: the file is for %q, not %q", path, r, role)
		}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if key == "role" {
			continue
		}
		name := strings.ReplaceAll(key, "_", "-")
		if name == "config" || name == "check" || fs.Lookup(name) == nil {
			return fmt.Errorf("%s: %s: unknown setting for %s (settings are the %s flags: copytrade %s --help)", path, key, role, role, role)
		}
		if given[name] {
			continue // the command line overrides the file
		}
		v, err := flagValue(name, raw[key])
		if err != nil {
			return fmt.Errorf("%s: %s: %w", path, key, err)
		}
		if err := fs.Set(name, v); err != nil {
			// flag's own error for a bad number or duration is a bare "parse error".
			return fmt.Errorf("%s: %s: invalid value %q (want: %s)", path, key, v, fs.Lookup(name).Usage)
		}
	}
	return nil
}

// flagValue renders a TOML value as the flag's text: scalars as themselves, a list of
// scalars comma-joined, and members (a list of tables id/raft/rpc) as
// id=raft/rpc,... — the -members syntax.
func flagValue(name string, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case []map[string]any:
		if name != "members" {
			return "", errors.New("a list of tables is only for members")
		}
		parts := make([]string, 0, len(x))
		for i, m := range x {
			id, _ := m["id"].(string)
			raftAddr, _ := m["raft"].(string)
			rpcAddr, _ := m["rpc"].(string)
			for k := range m {
				if k != "id" && k != "raft" && k != "rpc" {
					return "", fmt.Errorf("member #%d: unknown key %q (id, raft, rpc)", i+1, k)
				}
			}
			if id == "" || raftAddr == "" || rpcAddr == "" {
				return "", fmt.Errorf("member #%d: id, raft and rpc are all required strings", i+1)
			}
			parts = append(parts, id+"="+raftAddr+"/"+rpcAddr)
		}
		return strings.Join(parts, ","), nil
	case []any:
		parts := make([]string, 0, len(x))
		for i, e := range x {
			s, err := flagValue(name, e)
			if err != nil {
				return "", fmt.Errorf("item #%d: %w", i+1, err)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("unsupported value %v (%T)", v, v)
}

// runConfig is `copytrade config check FILE`: exit 0 when the file is valid for its
// role, 1 with the bad setting named, 2 on usage errors.
func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: copytrade config check FILE")
		return 2
	}
	path := args[1]
	raw, err := readConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, "config:", err)
		return 1
	}
	role, _ := raw["role"].(string)
	run, ok := configRoles[role]
	if !ok {
		fmt.Fprintf(stderr, "config: %s: role: want \"node\" or \"router\", got %q\n", path, role)
		return 1
	}
	if code := run(ctx, []string{"--config", path, "--check"}, io.Discard, stderr); code != 0 {
		return 1
	}
	fmt.Fprintf(stdout, "%s: valid %s config\n", path, role)
	return 0
}
