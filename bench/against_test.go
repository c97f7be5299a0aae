package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// TestAgainstRevision measures a committed revision's servers beside the
// working tree's in one run: the server is built from the revision's own
// tree and its rows appear under IMPL@REV with a ratio to net.
func TestAgainstRevision(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs server processes")
	}
	if err := uringnet.Available(); err != nil {
		t.Skip(err)
	}
	if err := exec.Command("git", "rev-parse", "HEAD").Run(); err != nil {
		t.Skip("not in a git checkout:", err)
	}
	cfg := config{
		workloads: []string{"echo"},
		servers:   []string{"net", "uringnet", againstServer("HEAD"), "callback-epoll@HEAD"},
		against:   []string{"HEAD"},
		sizes:     []int{64},
		conns:     []int{4},
		rounds:    1,
		warmup:    50 * time.Millisecond,
		duration:  150 * time.Millisecond,
		bufSize:   4096,
	}
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	res, err := run(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	var got []string
	for _, r := range res.Runs {
		if r.Error != "" {
			t.Errorf("%s: %s", r.Server, r.Error)
		}
		got = append(got, r.Server)
	}
	if strings.Join(got, ",") != "net,uringnet,uringnet@HEAD,callback-epoll@HEAD" {
		t.Errorf("runs %v", got)
	}
	var text bytes.Buffer
	if err := res.writeText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "uringnet@HEAD") {
		t.Errorf("table lacks the revision's row:\n%s", text.String())
	}
}

// TestAgainstAddsUringnet adds uringnet@REV for a revision no server
// names, and nothing for one that -servers already names, matching the
// revision exactly (v1 does not name xv1).
func TestAgainstAddsUringnet(t *testing.T) {
	for _, c := range []struct{ servers, against, want string }{
		{"net,uringnet", "v1", "net,uringnet,uringnet@v1"},
		{"net,callback-epoll@v1", "v1", "net,callback-epoll@v1"},
		{"net,callback@xv1", "v1", "net,callback@xv1,uringnet@v1"},
		{"net,callback@v1", "v1,v2", "net,callback@v1,uringnet@v2"},
		{"net", "", "net"},
	} {
		got := withAgainstServers(splitList(c.servers), splitList(c.against))
		if strings.Join(got, ",") != c.want {
			t.Errorf("servers %s, against %s: %v, want %s", c.servers, c.against, got, c.want)
		}
	}
}

// TestAgainstNeedsItsRevision refuses a uringnet@REV server that no
// -against revision builds, and a revision git does not know.
func TestAgainstNeedsItsRevision(t *testing.T) {
	cfg := config{workloads: []string{"echo"}, servers: []string{"net", "uringnet@v0"}, sizes: []int{64}, conns: []int{1}, rounds: 1, duration: time.Second, bufSize: 4096}
	if err := cfg.check(); err == nil {
		t.Error("a uringnet@REV server without -against REV passed the check")
	}
	cfg.servers, cfg.against = []string{"net", "callback-epoll@v0"}, []string{"v1"}
	if err := cfg.check(); err == nil {
		t.Error("callback-epoll@v0 passed the check with only -against v1")
	}
	cfg.servers, cfg.against = []string{"net", "nosuch@v1"}, []string{"v1"}
	if err := cfg.check(); err == nil {
		t.Error("an unknown server at a known revision passed the check")
	}
	cfg.servers = []string{"net", "callback-epoll@v1"}
	if err := cfg.check(); err != nil {
		t.Errorf("callback-epoll@v1 with -against v1: %v", err)
	}
	cfg.servers = []string{"net", "uringnet@"}
	if err := cfg.check(); err == nil || !strings.Contains(err.Error(), "empty revision") {
		t.Errorf("uringnet@ with an empty revision: %v", err)
	}
	cfg.servers = []string{"net", "callback-epoll@v1", "callback-epoll@v1"}
	if err := cfg.check(); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a server listed twice: %v", err)
	}
	if testing.Short() {
		return
	}
	if err := exec.Command("git", "rev-parse", "HEAD").Run(); err != nil {
		t.Skip("not in a git checkout:", err)
	}
	_, err := buildServerAt(context.Background(), "no-such-revision-here", t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "no-such-revision-here") {
		t.Errorf("unknown revision: %v", err)
	}
}
