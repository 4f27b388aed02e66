package main

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// enumValue is a flag holding a generated Thrift enum, given by name in any case with
// '-' or '_' ("fixed-amount", "FIXED_AMOUNT") or by number.
type enumValue[T ~int64] struct {
	v     *T
	parse func(string) (T, error)
}

func (e enumValue[T]) String() string {
	if e.v == nil {
		return ""
	}
	if s, ok := any(*e.v).(fmt.Stringer); ok {
		return s.String()
	}
	return strconv.FormatInt(int64(*e.v), 10)
}

func (e enumValue[T]) Set(s string) error {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*e.v = T(n)
		return nil
	}
	v, err := e.parse(strings.ReplaceAll(strings.ToUpper(s), "-", "_"))
	if err != nil {
		return fmt.Errorf("unknown value %q", s)
	}
	*e.v = v
	return nil
}

// enumFlag declares an enum flag with a default.
func enumFlag[T ~int64](fs *flag.FlagSet, name string, def T, parse func(string) (T, error), usage string) *T {
	v := new(T)
	*v = def
	fs.Var(enumValue[T]{v: v, parse: parse}, name, usage)
	return v
}

// listValue is a comma-separated list of strings.
type listValue struct{ v *[]string }

func (l listValue) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l listValue) Set(s string) error {
	*l.v = splitList(s)
	return nil
}

func listFlag(fs *flag.FlagSet, name, usage string) *[]string {
	v := new([]string)
	fs.Var(listValue{v: v}, name, usage)
	return v
}

// slotsValue is a list of slots and inclusive ranges: "0-8191,9000".
type slotsValue struct{ v *[]int32 }

func (s slotsValue) String() string {
	if s.v == nil {
		return ""
	}
	return formatSlots(*s.v)
}

func (s slotsValue) Set(in string) error {
	out, err := parseSlots(in)
	if err != nil {
		return err
	}
	*s.v = out
	return nil
}

func slotsFlag(fs *flag.FlagSet, name, usage string) *[]int32 {
	v := new([]int32)
	fs.Var(slotsValue{v: v}, name, usage)
	return v
}

// parseSlots reads "a-b,c,..." into a sorted, unique slot list.
func parseSlots(in string) ([]int32, error) {
	seen := map[int32]bool{}
	var out []int32
	for _, part := range splitList(in) {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseInt(lo, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("slot %q is not a number", lo)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseInt(hi, 10, 32); err != nil {
				return nil, fmt.Errorf("slot %q is not a number", hi)
			}
		}
		if a < 0 || b < a || b > 16383 {
			return nil, fmt.Errorf("slot range %q must satisfy 0 <= from <= to <= 16383", part)
		}
		for s := int32(a); s <= int32(b); s++ {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// formatSlots writes a slot list back as ranges: "0-8191,9000".
func formatSlots(slots []int32) string {
	var b strings.Builder
	for i := 0; i < len(slots); {
		j := i
		for j+1 < len(slots) && slots[j+1] == slots[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if i == j {
			fmt.Fprintf(&b, "%d", slots[i])
		} else {
			fmt.Fprintf(&b, "%d-%d", slots[i], slots[j])
		}
		i = j + 1
	}
	return b.String()
}

// waitFlag declares --wait (commit or acked).
func waitFlag(fs *flag.FlagSet, def ct.WaitFor) *ct.WaitFor {
	return enumFlag(fs, "wait", def, ct.WaitForFromString, "wait for: commit, or acked (every order it plans answered by the gateway)")
}
