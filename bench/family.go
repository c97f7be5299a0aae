package main

import (
	"context"
	"io"
	"time"
)

// A family is a group of workloads measured beside the echo table (net/http
// under wrk and h2load, bulk transfer, idle connections). Each registers
// itself from its own file with register, and go run ./bench runs the
// families named by -workloads after the echo workloads.
type family struct {
	name string // the -workloads name
	run  func(ctx context.Context, env familyEnv) (*section, error)
}

// familyEnv is what a family's run gets from the command line.
type familyEnv struct {
	rounds   int
	warmup   time.Duration
	duration time.Duration
	quick    bool
	tmp      string    // a scratch directory for built binaries, removed afterwards
	outDir   string    // where charts go; "" writes none
	progress io.Writer // one line per run
}

// section is one family's results: a table for the text output and
// results.md, the raw figures for results.json, and the charts it wrote
// into outDir.
type section struct {
	Name    string     `json:"name"`
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`   // formatted cells, one per column
	Notes   []string   `json:"notes"`  // paragraphs printed under the table
	Charts  []string   `json:"charts"` // file names in outDir
	Raw     any        `json:"raw"`    // per-round figures
}

var families []family

func register(f family) { families = append(families, f) }
