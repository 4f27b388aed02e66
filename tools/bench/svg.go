package bench

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Hand-written SVG line charts: no plotting dependency, diffable output.

type series struct {
	name   string
	color  string
	dashed bool
	pts    []Point
}

type axis struct {
	label string
	log   bool
	// ticks are the values labelled; fmtTick formats them.
	ticks   []float64
	fmtTick func(float64) string
	min     float64
	max     float64
}

type chart struct {
	title  string
	x, y   axis
	series []series
	hlines []hline
}

type hline struct {
	y     float64
	label string
}

const (
	svgW, svgH                     = 760, 440
	padL, padR, padT, padB float64 = 70, 180, 40, 55
)

func (a *axis) pos(v float64, lo, hi float64) float64 {
	if a.log {
		v, a0, a1 := math.Log10(math.Max(v, 1e-9)), math.Log10(a.min), math.Log10(a.max)
		return lo + (v-a0)/(a1-a0)*(hi-lo)
	}
	return lo + (v-a.min)/(a.max-a.min)*(hi-lo)
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func (c *chart) svg() string {
	var b strings.Builder
	x0, x1 := padL, float64(svgW)-padR
	y0, y1 := float64(svgH)-padB, padT
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%g" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", x0, esc(c.title))
	// grid and ticks
	for _, t := range c.x.ticks {
		if t < c.x.min || t > c.x.max {
			continue
		}
		px := c.x.pos(t, x0, x1)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", px, y0, px, y1)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", px, y0+18, esc(c.x.fmtTick(t)))
	}
	for _, t := range c.y.ticks {
		if t < c.y.min || t > c.y.max {
			continue
		}
		py := c.y.pos(t, y0, y1)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", x0, py, x1, py)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", x0-6, py+4, esc(c.y.fmtTick(t)))
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#444"/>`+"\n", x0, y1, x1-x0, y0-y1)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", (x0+x1)/2, float64(svgH)-12, esc(c.x.label))
	fmt.Fprintf(&b, `<text x="16" y="%.1f" text-anchor="middle" transform="rotate(-90 16 %.1f)">%s</text>`+"\n", (y0+y1)/2, (y0+y1)/2, esc(c.y.label))
	for _, h := range c.hlines {
		if h.y < c.y.min || h.y > c.y.max {
			continue
		}
		py := c.y.pos(h.y, y0, y1)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="6 4"/>`+"\n", x0, py, x1, py)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#c00">%s</text>`+"\n", x1+6, py+4, esc(h.label))
	}
	clamp := func(v, lo, hi float64) float64 { return math.Min(math.Max(v, math.Min(lo, hi)), math.Max(lo, hi)) }
	legendY := y1 + 10
	for _, s := range c.series {
		if len(s.pts) == 0 {
			continue
		}
		var pts []string
		for _, p := range s.pts {
			px := clamp(c.x.pos(p.X, x0, x1), x0, x1)
			py := clamp(c.y.pos(p.Y, y0, y1), y0, y1)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
		}
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="5 3"`
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", s.color, dash, strings.Join(pts, " "))
		for _, p := range pts {
			xy := strings.Split(p, ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2.5" fill="%s"/>`+"\n", xy[0], xy[1], s.color)
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n", x1+12, legendY, x1+32, legendY, s.color, dash)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", x1+38, legendY+4, esc(s.name))
		legendY += 18
	}
	b.WriteString("</svg>\n")
	return b.String()
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"}

// msTicks are log-scale latency ticks.
var msTicks = []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000}

func fmtMs(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

// msAxis is a log latency axis covering every y of the series (and extra values).
func msAxis(label string, ss []series, extra ...float64) axis {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, p := range s.pts {
			if p.Y > 0 {
				lo, hi = math.Min(lo, p.Y), math.Max(hi, p.Y)
			}
		}
	}
	for _, e := range extra {
		lo, hi = math.Min(lo, e), math.Max(hi, e)
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0.1, 100
	}
	return axis{label: label, log: true, ticks: msTicks, fmtTick: fmtMs,
		min: math.Pow(10, math.Floor(math.Log10(lo))), max: math.Pow(10, math.Ceil(math.Log10(hi*1.05)))}
}

// nines maps a percentile to -log10(1 - p/100), so 90, 99, 99.9 are evenly spaced.
func nines(p float64) float64 { return -math.Log10(math.Max(1-p/100, 1e-5)) }

// latencyChart is the percentile curve of the fill latency beside the floor.
func latencyChart(r *Report) *chart {
	var ss []series
	add := func(name string, d Dist, dashed bool) {
		if len(d.Curve) == 0 {
			return
		}
		s := series{name: name, color: palette[len(ss)%len(palette)], dashed: dashed}
		for _, p := range d.Curve {
			s.pts = append(s.pts, Point{X: nines(p.X), Y: math.Max(p.Y, 0.001)})
		}
		ss = append(ss, s)
	}
	if l := r.Latency; l != nil {
		add(fmt.Sprintf("fill → acked, %d copiers", l.Copiers), l.Latency, false)
		add("floor: no-op via router", l.Floor.Noop, true)
		add("floor: 500-order batch", l.Floor.Gateway500, true)
	}
	if c := r.Copiers; c != nil && len(c.Steps) > 0 {
		last := c.Steps[len(c.Steps)-1]
		add(fmt.Sprintf("fill → acked, %d copiers", last.Copiers), last.Latency, false)
	}
	if t := r.Throughput; t != nil {
		best := -1
		for i, s := range t.Steps {
			if s.Sustained {
				best = i
			}
		}
		if best >= 0 {
			s := t.Steps[best]
			add(fmt.Sprintf("at %.0fk orders/s", s.OrdersPerS/1000), s.Latency, false)
		}
	}
	pt := []float64{0, 90, 99, 99.9, 99.99, 100}
	xt := make([]float64, len(pt))
	for i, p := range pt {
		xt[i] = nines(p)
	}
	names := map[float64]string{}
	for i, p := range pt {
		names[xt[i]] = strings.TrimSuffix(fmt.Sprintf("p%g", p), "")
	}
	names[0], names[nines(100)] = "p0", "max"
	return &chart{
		title: "Latency distribution: signal → all copier orders acknowledged",
		x: axis{label: "percentile", ticks: xt, fmtTick: func(v float64) string { return names[v] },
			min: 0, max: nines(100)},
		y:      msAxis("milliseconds (log)", ss),
		series: ss,
		hlines: []hline{{y: 5, label: "5 ms target"}},
	}
}

// rateChart is P99 against the copier orders/s each throughput step sustained.
func rateChart(r *Report) *chart {
	t := r.Throughput
	p99 := series{name: "fill p99", color: palette[0]}
	p50 := series{name: "fill p50", color: palette[2], dashed: true}
	floor := series{name: "floor no-op p99", color: palette[1], dashed: true}
	hi := 1.0
	for _, s := range t.Steps {
		x := s.OrdersPerS / 1000 // acknowledged k orders/s
		p99.pts = append(p99.pts, Point{X: x, Y: s.Latency.P99})
		p50.pts = append(p50.pts, Point{X: x, Y: s.Latency.P50})
		floor.pts = append(floor.pts, Point{X: x, Y: s.Floor.Noop.P99})
		hi = math.Max(hi, x)
	}
	ss := []series{p99, p50, floor}
	step := niceStep(hi / 6)
	var xt []float64
	for v := 0.0; v <= hi*1.05; v += step {
		xt = append(xt, v)
	}
	return &chart{
		title:  "P99 vs load (one group, fsync on)",
		x:      axis{label: "copier orders/s acknowledged by the gateway (thousands)", ticks: xt, fmtTick: func(v float64) string { return fmt.Sprintf("%g", v) }, min: 0, max: hi * 1.05},
		y:      msAxis("milliseconds (log)", ss, t.BudgetMs),
		series: ss,
		hlines: []hline{{y: t.BudgetMs, label: fmt.Sprintf("%.0f ms budget", t.BudgetMs)}},
	}
}

// copiersChart is P50/P99 against the number of copiers of one trader.
func copiersChart(r *Report) *chart {
	p99 := series{name: "p99", color: palette[0]}
	p50 := series{name: "p50", color: palette[2], dashed: true}
	for _, s := range r.Copiers.Steps {
		p99.pts = append(p99.pts, Point{X: float64(s.Copiers), Y: s.Latency.P99})
		p50.pts = append(p50.pts, Point{X: float64(s.Copiers), Y: s.Latency.P50})
	}
	ss := []series{p99, p50}
	return &chart{
		title: "Fan-out: latency vs copiers of one trader",
		x: axis{label: "copiers (log)", log: true, ticks: []float64{100, 200, 500, 1000, 2000, 5000, 10000, 20000},
			fmtTick: func(v float64) string { return fmt.Sprintf("%g", v) }, min: 300, max: 15000},
		y:      msAxis("milliseconds (log)", ss, 50),
		series: ss,
		hlines: []hline{{y: 50, label: "50 ms target"}},
	}
}

func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// WriteCharts writes the charts the report has data for into dir and returns their
// file names.
func (r *Report) WriteCharts(dir string) ([]string, error) {
	var files []string
	write := func(name string, c *chart) error {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(c.svg()), 0o644); err != nil {
			return fmt.Errorf("bench: write chart: %w", err)
		}
		files = append(files, name)
		return nil
	}
	if r.Latency != nil || r.Copiers != nil {
		if err := write("latency.svg", latencyChart(r)); err != nil {
			return files, err
		}
	}
	if r.Throughput != nil && len(r.Throughput.Steps) > 0 {
		if err := write("p99_vs_rate.svg", rateChart(r)); err != nil {
			return files, err
		}
	}
	if r.Copiers != nil && len(r.Copiers.Steps) > 0 {
		if err := write("copiers.svg", copiersChart(r)); err != nil {
			return files, err
		}
	}
	return files, nil
}
