package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"
)

// A family is a group of workloads measured beside the echo table (net/http
// under wrk and h2load, bulk transfer, idle connections, UDP echo, quic-go's
// HTTP/3). Each registers
// itself from its own file with register, and the bench command runs the
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

// alternate runs once for every server in turn, round after round (A B C A
// B C ...), so drift in the machine spreads over all of them, and prints
// one progress line per run: the family's name, the round and what line
// says of the run. once gets the round to record. It stops at the first
// error or when ctx ends.
func alternate[R any](ctx context.Context, env familyEnv, name string, servers []string,
	once func(round int, server string) (R, error), line func(R) string) ([]R, error) {
	var runs []R
	total, n := env.rounds*len(servers), 0
	for round := 1; round <= env.rounds; round++ {
		for _, srv := range servers {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			n++
			r, err := once(round, srv)
			if err != nil {
				return nil, fmt.Errorf("%s round %d, %s: %w", name, round, srv, err)
			}
			runs = append(runs, r)
			fmt.Fprintf(env.progress, "[%*d/%d] %s round %d/%d  %-14s %s\n",
				len(strconv.Itoa(total)), n, total, name, round, env.rounds, srv, line(r))
		}
	}
	return runs, nil
}
