package main

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// barSeries is one coloured set of bars in a grouped bar chart: Values[i]
// is its bar in groups[i]. A NaN, infinite or missing value draws no bar.
type barSeries struct {
	Name   string
	Values []float64
}

// groupedBars writes an SVG bar chart to path: one cluster of bars per
// group along the x axis, one bar per series in each, and a legend beside
// the plot naming the series.
func groupedBars(path, title, yLabel string, groups []string, series []barSeries) error {
	return barChart{title: title, yLabel: yLabel, groups: groups, series: series, ref: math.NaN()}.write(path)
}

// barChart is groupedBars' input, plus an optional horizontal reference
// line: a ratio chart draws one at 1 so that ahead and behind read at a
// glance.
type barChart struct {
	title, yLabel string
	groups        []string
	series        []barSeries
	ref           float64 // NaN for none
}

// The plot's geometry: bars take this share of each group's slot, and the
// canvas widens with the number of bars so that labels stay legible.
const (
	barGroupShare = 0.8
	barMinWidth   = 14 * vg.Centimeter
	barPerBar     = 1.1 * vg.Centimeter
	barHeight     = 9 * vg.Centimeter
)

func (b barChart) write(path string) error {
	if len(b.groups) == 0 || len(b.series) == 0 {
		return errors.New("bar chart: need at least one group and one series")
	}
	for _, s := range b.series {
		if len(s.Values) > len(b.groups) {
			return fmt.Errorf("bar chart: series %q has %d values for %d groups", s.Name, len(s.Values), len(b.groups))
		}
	}
	p := plot.New()
	p.Title.Text = b.title
	p.Y.Label.Text = b.yLabel
	p.Y.Min = 0
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil // the groups need no vertical lines
	p.Add(grid)
	width := barGroupShare / float64(len(b.series))
	leg := plot.NewLegend()
	leg.Top, leg.Left = true, true
	leg.Padding = vg.Points(2)
	var nameWidth vg.Length
	for i, s := range b.series {
		bp := &bars{
			values: s.Values,
			x0:     -barGroupShare/2 + float64(i)*width,
			width:  width,
			color:  plotutil.Color(i),
			label:  p.Legend.TextStyle,
		}
		bp.label.Font.Size = 7
		bp.label.XAlign, bp.label.YAlign = draw.XCenter, draw.YBottom
		p.Add(bp)
		leg.Add(s.Name, bp)
		nameWidth = max(nameWidth, leg.TextStyle.Width(s.Name))
	}
	if !math.IsNaN(b.ref) && !math.IsInf(b.ref, 0) {
		p.Add(refLine{b.ref})
	}
	// The x range covers every group even where a series has no values.
	p.X.Min, p.X.Max = -0.5, float64(len(b.groups))-0.5
	p.NominalX(b.groups...)
	if p.Y.Max <= p.Y.Min {
		p.Y.Max = p.Y.Min + 1
	}
	p.Y.Max *= 1.08 // room for the value labels above the tallest bar

	legendWidth := leg.ThumbnailWidth + nameWidth + vg.Centimeter
	plotWidth := max(barMinWidth, 2*vg.Centimeter+vg.Length(len(b.groups)*len(b.series))*barPerBar)
	cv := vgsvg.New(plotWidth+legendWidth, barHeight)
	dc := draw.New(cv)
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	leg.Draw(draw.Crop(dc, plotWidth+vg.Centimeter/4, 0, 0, -vg.Centimeter))

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := cv.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// bars draws one series: the bar for group i spans x0..x0+width around the
// group's tick at i, in data units, with its value printed above it.
type bars struct {
	values    []float64
	x0, width float64
	color     color.Color
	label     draw.TextStyle
}

func drawable(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i, v := range b.values {
		if !drawable(v) {
			continue
		}
		x0, x1 := trX(float64(i)+b.x0), trX(float64(i)+b.x0+b.width)
		y0, y1 := trY(0), trY(v)
		pts := []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
		c.FillPolygon(b.color, c.ClipPolygonY(pts))
		c.FillText(b.label, vg.Point{X: (x0 + x1) / 2, Y: max(y0, y1) + 1}, rate(v))
	}
}

// DataRange makes the y axis reach the tallest bar and zero.
func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for i, v := range b.values {
		if !drawable(v) {
			continue
		}
		xmin, xmax = min(xmin, float64(i)+b.x0), max(xmax, float64(i)+b.x0+b.width)
		ymin, ymax = min(ymin, v), max(ymax, v)
	}
	if xmin > xmax { // no bar at all
		return 0, 0, 0, 0
	}
	return xmin, xmax, ymin, ymax
}

// Thumbnail is the series' swatch in the legend.
func (b *bars) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(b.color, pts)
}

// refLine is a dashed horizontal line at y.
type refLine struct{ y float64 }

func (r refLine) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := draw.LineStyle{Color: color.Gray{Y: 64}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
	y := trY(r.y)
	c.StrokeLines(sty, c.ClipLinesY([]vg.Point{{X: trX(p.X.Min), Y: y}, {X: trX(p.X.Max), Y: y}})...)
}

// DataRange keeps the line inside the y axis.
func (r refLine) DataRange() (xmin, xmax, ymin, ymax float64) {
	return math.Inf(1), math.Inf(-1), min(0, r.y), max(0, r.y)
}

// writeCharts draws the echo charts into dir, two per message size:
// messages per second and server CPU per message, each as a ratio to the
// baseline, with the connection counts as groups and the servers as
// series. It records the file names in r.Charts.
func (r *results) writeCharts(dir string) error {
	if len(r.Runs) == 0 {
		return nil
	}
	var groups []string
	for _, c := range r.Meta.Conns {
		groups = append(groups, connsName(c))
	}
	r.Charts = nil
	for _, size := range r.Meta.Sizes {
		for _, c := range []struct {
			fig  figure
			file string
			what string
		}{
			{figMsgs, "msgs", "messages per second"},
			{figCPU, "cpu", "server CPU per message"},
		} {
			var series []barSeries
			for _, srv := range r.Meta.Servers {
				s := barSeries{Name: srv}
				for _, conns := range r.Meta.Conns {
					q, ok := r.ratio(srv, r.Meta.Baseline, workload{size, conns}, c.fig)
					if !ok {
						q = math.NaN()
					}
					s.Values = append(s.Values, q)
				}
				series = append(series, s)
			}
			file := fmt.Sprintf("echo-%s-%s.svg", strings.ReplaceAll(msgSizeName(size), " ", ""), c.file)
			title := fmt.Sprintf("Echo, %s messages: %s as a ratio to %s", msgSizeName(size), c.what, r.Meta.Baseline)
			chart := barChart{title: title, yLabel: "× " + r.Meta.Baseline, groups: groups, series: series, ref: 1}
			if err := chart.write(filepath.Join(dir, file)); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			r.Charts = append(r.Charts, file)
		}
	}
	return nil
}
