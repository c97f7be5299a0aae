package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ourio-go/ourio/bench/internal/h3"
	"github.com/ourio-go/ourio/uringnet"
)

// TestH3FamilyRun runs the h3 family for one short round with fewer
// connections and a smaller body than the benchmark's, on both servers.
func TestH3FamilyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs server processes")
	}
	if err := uringnet.Available(); err != nil {
		t.Skip(err)
	}
	var progress strings.Builder
	env := familyEnv{rounds: 1, warmup: 200 * time.Millisecond, duration: 400 * time.Millisecond, tmp: t.TempDir(), outDir: t.TempDir(), progress: &progress}
	p := h3Plan{reqConns: 2, reqStreams: 4, dlConns: 1, bodyLen: 2 << 20, transports: h3.Transports}
	sec, err := p.run(context.Background(), env)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	t.Logf("%q\n%q\n%s", sec.Columns, sec.Rows, strings.Join(sec.Notes, "\n"))
	runs := sec.Raw.([]h3Run)
	if len(runs) != 2*len(h3.Transports) || len(sec.Rows) != len(runs) || sec.Rows[0][3] != "1.00x" || sec.Rows[0][5] != "1.00x" {
		t.Fatalf("runs %+v rows %q", runs, sec.Rows)
	}
	for i, r := range runs {
		ok := r.Seconds > 0 && r.Bytes > 0 && strings.HasPrefix(r.Transport, r.Server+": ")
		if strings.HasPrefix(r.Workload, "download") {
			ok = ok && r.MBps > 0 && r.CPUPerMB > 0 && r.ReqPerSec == 0
		} else {
			// Bytes are counted as they arrive and a request when its body
			// has ended, so at each edge of the window every stream can
			// hold one body counted on one side of it and its request on
			// the other.
			inFlight := int64(p.reqConns*p.reqStreams) * int64(len(h3.Small))
			d := r.Bytes - r.Requests*int64(len(h3.Small))
			ok = ok && r.Requests > 0 && r.ReqPerSec > 0 && r.CPUPerReq > 0 && d >= -inFlight && d <= inFlight
		}
		if !ok || len(sec.Rows[i]) != len(sec.Columns) {
			t.Errorf("implausible run: %+v", r)
		}
	}
	if v := sec.Notes[len(sec.Notes)-1]; !strings.HasPrefix(v, "Target, quic-go on uringnet") {
		t.Errorf("no target line: %q", v)
	}
	if _, err := json.Marshal(sec); err != nil {
		t.Error(err)
	}
	if len(sec.Charts) != 1 {
		t.Errorf("charts %q", sec.Charts)
	}
}
