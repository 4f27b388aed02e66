package main

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/bytedance/sonic"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// render prints v as indented JSON (--json) or for a human: scalar fields as
// "key  value" lines, nested structs flattened ("config.share_bps"), and lists of
// structs as tables after them. Field names are the JSON names, so both forms agree.
func render(w io.Writer, v any, asJSON bool) error {
	if asJSON {
		v = emptyLists(v)
		b, err := sonic.ConfigStd.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("encode JSON: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	switch t := v.(type) {
	case *mintedToken:
		_, err := fmt.Fprintln(w, t.Token) // bare, for $(copytrade ctl token ...)
		return err
	case *statusReport:
		return renderStatus(w, t)
	case *ct.GetPositionsResponse:
		return renderHuman(w, positionRows(t))
	}
	return renderHuman(w, v)
}

// positionRow is one position of GetPositions, flattened for a table.
type positionRow struct {
	Trader       int64           `json:"trader"`
	Kind         string          `json:"kind"` // attributed or detached
	Instrument   string          `json:"instrument"`
	Side         ct.PositionSide `json:"side"`
	Qty          string          `json:"qty"`
	AvgEntry     string          `json:"avg_entry"`
	Margin       string          `json:"margin"`
	Leverage     int32           `json:"leverage"`
	PendingOpen  string          `json:"pending_open"`
	PendingClose string          `json:"pending_close"`
}

func positionRows(r *ct.GetPositionsResponse) []positionRow {
	var out []positionRow
	add := func(trader int64, kind string, ps []*ct.Position) {
		for _, p := range ps {
			out = append(out, positionRow{Trader: trader, Kind: kind, Instrument: p.GetInstrument(), Side: p.GetSide(),
				Qty: p.GetQty(), AvgEntry: p.GetAvgEntry(), Margin: p.GetMargin(), Leverage: p.GetLeverage(),
				PendingOpen: p.GetPendingOpen(), PendingClose: p.GetPendingClose()})
		}
	}
	for _, bt := range r.GetByTrader() {
		add(bt.GetTrader(), "attributed", bt.GetPositions())
		add(bt.GetTrader(), "detached", bt.GetDetached())
	}
	return out
}

// tableColumns picks the columns of wide row types; others show every scalar field.
// "#name" is the length of a list field, "a.b" a nested field.
var tableColumns = map[reflect.Type][]string{
	reflect.TypeFor[ct.FollowView](): {"trader", "copier", "status", "settings.mode", "settings.allocation",
		"settings.position_mode", "margin_in_use", "realized_pnl", "unrealized_pnl", "fees", "pending_orders", "#positions", "stop_reason",
		"consecutive_failures", "close_policy"},
	reflect.TypeFor[ct.LeaderRow](): {"rank", "trader", "window_days", "roi_bps", "pnl", "win_rate_bps", "wins", "losses",
		"max_drawdown_bps", "copiers", "assets_under_copy", "copier_pnl", "quality.orders", "quality.latency_p50_us",
		"quality.latency_p99_us", "quality.slippage_mean_bps", "quality.slippage_p90_bps", "quality.fill_ratio_bps"},
	reflect.TypeFor[ct.ActivityRecord](): {"id", "trader", "copier", "kind", "origin", "instrument", "effect", "side", "trade_id",
		"skip_reason", "cap", "client_order_id", "qty", "status", "filled_qty", "avg_price", "fee", "reason"},
	reflect.TypeFor[ct.Order](): {"client_order_id", "copier", "trader", "instrument", "side", "position_side", "qty",
		"limit_price", "reduce_only", "leverage", "effect", "status", "signal", "quarantine_reason"},
}

func renderHuman(w io.Writer, v any) error {
	rv := deref(reflect.ValueOf(v))
	if !rv.IsValid() || isEmptyResult(rv) {
		_, err := fmt.Fprintln(w, "(none)")
		return err
	}
	if rv.Kind() == reflect.Slice && isStructSlice(rv.Type()) {
		if rv.Len() == 0 {
			_, err := fmt.Fprintln(w, "(none)")
			return err
		}
		return writeTable(w, rv)
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	var tables []namedTable
	if rv.Kind() == reflect.Struct {
		writeFields(tw, "", rv, &tables)
	} else {
		fmt.Fprintln(tw, scalar(rv))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range tables {
		fmt.Fprintf(w, "\n%s:\n", t.name)
		if err := writeTable(w, t.rows); err != nil {
			return err
		}
	}
	return nil
}

type namedTable struct {
	name string
	rows reflect.Value
}

// fieldName is a struct field's JSON name ("" for unexported or "-").
func fieldName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

func writeFields(tw io.Writer, prefix string, rv reflect.Value, tables *[]namedTable) {
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		name := fieldName(rt.Field(i))
		if name == "" {
			continue
		}
		key := prefix + name
		fv := rv.Field(i)
		switch {
		case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct:
			if !fv.IsNil() {
				writeFields(tw, key+".", fv.Elem(), tables)
			}
		case fv.Kind() == reflect.Struct:
			writeFields(tw, key+".", fv, tables)
		case fv.Kind() == reflect.Slice && isStructSlice(fv.Type()):
			if fv.Len() == 0 {
				fmt.Fprintf(tw, "%s\t(none)\n", key)
			} else {
				*tables = append(*tables, namedTable{name: key, rows: fv})
			}
		default:
			fmt.Fprintf(tw, "%s\t%s\n", key, scalar(fv))
		}
	}
}

func isStructSlice(t reflect.Type) bool {
	if t.Kind() != reflect.Slice {
		return false
	}
	e := t.Elem()
	if e.Kind() == reflect.Pointer {
		e = e.Elem()
	}
	return e.Kind() == reflect.Struct
}

func deref(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

// columns are the table columns of a row type: tableColumns, else every field that is
// not a nested struct or a list of structs (those show as "#name" counts).
func columns(t reflect.Type) []string {
	if c, ok := tableColumns[t]; ok {
		return c
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := fieldName(f)
		if name == "" {
			continue
		}
		ft := f.Type
		switch {
		case isStructSlice(ft):
			out = append(out, "#"+name)
		case ft.Kind() == reflect.Struct || ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
			// nested: too wide for a row; --json has it
		default:
			out = append(out, name)
		}
	}
	return out
}

// lookup resolves a column path on a struct value.
func lookup(v reflect.Value, path string) string {
	count := strings.HasPrefix(path, "#")
	path = strings.TrimPrefix(path, "#")
	for _, part := range strings.Split(path, ".") {
		v = deref(v)
		if !v.IsValid() || v.Kind() != reflect.Struct {
			return ""
		}
		found := false
		for i := 0; i < v.NumField(); i++ {
			if fieldName(v.Type().Field(i)) == part {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			return "?"
		}
	}
	if count {
		return strconv.Itoa(v.Len())
	}
	return scalar(v)
}

func writeTable(w io.Writer, rows reflect.Value) error {
	et := rows.Type().Elem()
	if et.Kind() == reflect.Pointer {
		et = et.Elem()
	}
	cols := columns(et)
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = strings.ToUpper(strings.TrimPrefix(strings.ReplaceAll(c, "settings.", ""), "#")) // short headers
		if strings.HasPrefix(c, "#") {
			head[i] = "#" + head[i]
		}
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for i := 0; i < rows.Len(); i++ {
		cells := make([]string, len(cols))
		for j, c := range cols {
			cells[j] = lookup(rows.Index(i), c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// scalar formats a leaf value: enums by name, lists joined by commas, bytes by length.
func scalar(v reflect.Value) string {
	v = deref(v)
	if !v.IsValid() {
		return "-"
	}
	if s, ok := v.Interface().(fmt.Stringer); ok && v.Kind() != reflect.Struct {
		return s.String()
	}
	switch v.Kind() {
	case reflect.String:
		if v.String() == "" {
			return "-"
		}
		return v.String()
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return fmt.Sprintf("<%d bytes>", v.Len())
		}
		if v.Len() == 0 {
			return "-"
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = scalar(v.Index(i))
		}
		return strings.Join(parts, ",")
	case reflect.Map:
		return fmt.Sprint(v.Interface())
	}
	return fmt.Sprint(v.Interface())
}

// renderStatus prints the health and its problems, then one block per group: a summary line, its slot ranges and a member
// table.
func renderStatus(w io.Writer, r *statusReport) error {
	fmt.Fprintf(w, "health: %s\n", r.Health)
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	for _, g := range r.Groups {
		fmt.Fprintln(w)
		leader := "none"
		if g.Leader != "" {
			leader = g.Leader + " (" + g.LeaderAddr + ")"
		}
		fmt.Fprintf(w, "group %d  leader %s  term %d  commit %d  applied %d  pending orders %d\n",
			g.Group, leader, g.Term, g.CommitIndex, g.AppliedIndex, g.PendingOrders)
		if g.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", g.Error)
		}
		if len(g.Slots) > 0 {
			fmt.Fprintf(w, "  slots: %s\n", formatRanges(g.Slots))
		}
		tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "  MEMBER\tRPC_ADDR\tSTATE\tTERM\tCOMMIT\tAPPLIED\tLAST_LOG\tSNAPSHOT\tPENDING\tERROR")
		for _, m := range g.Members {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", orDash(m.ID), m.RPCAddr, m.State, m.Term,
				m.CommitIndex, m.AppliedIndex, m.LastLogIndex, m.SnapshotIndex, m.PendingOrders, orDash(m.Error))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// formatRanges writes slot ranges as "0-8191 OWNED epoch 1; ...".
func formatRanges(rs []*ct.SlotRange) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		p := fmt.Sprintf("%d-%d %s epoch %d", r.GetFirst(), r.GetTo(), r.GetState(), r.GetEpoch())
		if r.GetMigration() != 0 {
			p += fmt.Sprintf(" migration %d", r.GetMigration())
		}
		if r.GetMovedTo() != 0 {
			p += fmt.Sprintf(" moved to group %d", r.GetMovedTo())
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Empty results print one way in every command: "(none)" for a human (a bare empty
// list, or a response whose lists are all empty and whose other fields are zero, such
// as an empty page without a cursor), and [] in JSON (never null).

// isEmptyResult: a struct with at least one list, every list empty and every other field zero.
func isEmptyResult(rv reflect.Value) bool {
	if rv.Kind() != reflect.Struct {
		return false
	}
	lists := 0
	for i := 0; i < rv.NumField(); i++ {
		if fieldName(rv.Type().Field(i)) == "" {
			continue
		}
		f := rv.Field(i)
		if f.Kind() == reflect.Slice && isStructSlice(f.Type()) {
			if f.Len() > 0 {
				return false
			}
			lists++
			continue
		}
		if !f.IsZero() {
			return false
		}
	}
	return lists > 0
}

// emptyLists returns v with every nil list (at any depth of exported struct fields)
// made empty, so JSON says [] rather than null.
func emptyLists(v any) any {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return []struct{}{}
	}
	if rv.Kind() == reflect.Slice && rv.IsNil() {
		return reflect.MakeSlice(rv.Type(), 0, 0).Interface()
	}
	fillLists(rv, 0)
	return v
}

func fillLists(rv reflect.Value, depth int) {
	if depth > 16 {
		return
	}
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !rv.IsNil() {
			fillLists(rv.Elem(), depth+1)
		}
	case reflect.Slice:
		for i := 0; i < rv.Len(); i++ {
			fillLists(rv.Index(i), depth+1)
		}
	case reflect.Struct:
		for i := 0; i < rv.NumField(); i++ {
			f := rv.Field(i)
			if !rv.Type().Field(i).IsExported() {
				continue
			}
			if f.Kind() == reflect.Slice && f.IsNil() && f.CanSet() {
				f.Set(reflect.MakeSlice(f.Type(), 0, 0))
				continue
			}
			fillLists(f, depth+1)
		}
	}
}
