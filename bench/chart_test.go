package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGroupedBars(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chart.svg")
	series := []barSeries{
		{Name: "net", Values: []float64{1, 1, 1}},
		{Name: "callback", Values: []float64{0.9, math.NaN(), 1.33}},
		{Name: "short", Values: []float64{2.5}}, // the missing groups draw no bar
	}
	if err := groupedBars(path, "64 B echo: msgs/s ×net", "× net", []string{"1 conn", "64 conns", "1000 conns"}, series); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	svg := string(b)
	for _, want := range []string{"<svg", "</svg>", "64 B echo: msgs/s ×net", "callback", "1000 conns", "1.33", "2.50"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	// The NaN bar's label is not drawn, nor anything else for it.
	if strings.Contains(svg, "NaN") {
		t.Error("SVG mentions NaN")
	}
}

func TestGroupedBarsBadInput(t *testing.T) {
	dir := t.TempDir()
	if err := groupedBars(filepath.Join(dir, "a.svg"), "t", "y", nil, []barSeries{{Name: "x"}}); err == nil {
		t.Error("no groups accepted")
	}
	if err := groupedBars(filepath.Join(dir, "b.svg"), "t", "y", []string{"g"}, nil); err == nil {
		t.Error("no series accepted")
	}
	if err := groupedBars(filepath.Join(dir, "c.svg"), "t", "y", []string{"g"}, []barSeries{{Name: "x", Values: []float64{1, 2}}}); err == nil {
		t.Error("more values than groups accepted")
	}
	// Only missing values still make a chart.
	if err := groupedBars(filepath.Join(dir, "d.svg"), "t", "y", []string{"g"}, []barSeries{{Name: "x", Values: []float64{math.NaN()}}}); err != nil {
		t.Errorf("all-NaN chart: %v", err)
	}
	if err := groupedBars(filepath.Join(dir, "no", "such", "e.svg"), "t", "y", []string{"g"}, []barSeries{{Name: "x", Values: []float64{1}}}); err == nil {
		t.Error("unwritable path accepted")
	}
}
