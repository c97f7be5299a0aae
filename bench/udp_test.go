package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

func TestUDPFamilyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs server processes")
	}
	if err := uringnet.Available(); err != nil {
		t.Skip(err)
	}
	var progress strings.Builder
	env := familyEnv{rounds: 1, warmup: 100 * time.Millisecond, duration: 300 * time.Millisecond, tmp: t.TempDir(), outDir: t.TempDir(), progress: &progress}
	sec, err := udpPlan{sizes: []int{64, 1200}, flows: []int{2}}.run(context.Background(), env)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	t.Logf("%q\n%q", sec.Columns, sec.Rows)
	runs := sec.Raw.([]udpRun)
	if len(runs) != 2*len(udpImpls) || len(sec.Rows) != len(runs) || sec.Rows[0][3] != "1.00x" {
		t.Fatalf("runs %+v rows %q", runs, sec.Rows)
	}
	for i, r := range runs {
		if r.Datagrams <= 0 || r.Rate <= 0 || r.ServerCPU <= 0 || r.P99 < r.P50 || len(sec.Rows[i]) != len(sec.Columns) {
			t.Errorf("implausible run: %+v", r)
		}
	}
	if _, err := json.Marshal(sec); err != nil {
		t.Error(err)
	}
	if len(sec.Charts) != 1 {
		t.Errorf("charts %q", sec.Charts)
	}
}
