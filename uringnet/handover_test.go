//go:build linux

package uringnet_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ourio-go/ourio/uringnet"
)

// A listening socket handed from one process to another while clients keep
// connecting: TestHandover serves HTTP on a listener, passes its
// File to this test binary run again as TestHandoverChild, which adopts it
// with FileListener and serves too, and then shuts its own server down.
// Every request must get its answer from one of the two.

// handoverChildEnv marks the child process.
const handoverChildEnv = "OURIO_HANDOVER_CHILD"

// The child's inherited descriptors: ExtraFiles start at 3.
const (
	handoverListenerFd = 3
	handoverReportFd   = 4
)

// whoHandler answers with its role, its process and the request's path, and
// counts what it answered.
func whoHandler(role string, served *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		fmt.Fprintf(w, "%s %d %s", role, os.Getpid(), r.URL.Path)
	})
}

// handoverClients send requests one after another on new connections
// until stopped, and check every answer.
type handoverClients struct {
	addr string
	stop chan struct{}
	wg   sync.WaitGroup
	// Counts, one atomic word each.
	sent, byParent, byChild atomic.Int64
	childPid                atomic.Int64 // set before the child may serve (its go-ahead on stdin)
	mu                      sync.Mutex   // guards failures
	failures                []string
}

func (h *handoverClients) start(n int) {
	for i := range n {
		h.wg.Add(1)
		go h.run(i)
	}
}

func (h *handoverClients) run(id int) {
	defer h.wg.Done()
	// A connection per request: each one is accepted by one process or
	// the other, and none is left idle for a shutdown to close.
	tr := &http.Transport{DisableKeepAlives: true, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for n := 0; ; n++ {
		select {
		case <-h.stop:
			return
		default:
		}
		path := fmt.Sprintf("/req/%d/%d", id, n)
		h.sent.Add(1)
		if err := h.get(client, path); err != nil {
			h.mu.Lock()
			h.failures = append(h.failures, fmt.Sprintf("%s: %v", path, err))
			h.mu.Unlock()
		}
	}
}

func (h *handoverClients) get(client *http.Client, path string) error {
	resp, err := client.Get("http://" + h.addr + path)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	parent := fmt.Sprintf("parent %d %s", os.Getpid(), path)
	child := fmt.Sprintf("child %d %s", h.childPid.Load(), path)
	switch string(body) {
	case parent:
		h.byParent.Add(1)
	case child:
		h.byChild.Add(1)
	default:
		return fmt.Errorf("answer %q, want %q or %q", body, parent, child)
	}
	return nil
}

// waitFor polls cond until it holds or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// TestHandover hands over a listener of package net and one of uringnet's;
// the child adopts either with uringnet.FileListener.
func TestHandover(t *testing.T) {
	if os.Getenv(handoverChildEnv) != "" {
		t.Skip("this is the child")
	}
	forBoth(t, testHandover)
}

func testHandover(t *testing.T, im impl) {
	ln, err := im.listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// parentAccepted counts the connections the parent's server took,
	// parentServed the requests it answered.
	var parentAccepted, parentServed atomic.Int64
	parent := &http.Server{
		Handler:           whoHandler("parent", &parentServed),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				parentAccepted.Add(1)
			}
		},
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- parent.Serve(ln) }()
	defer parent.Close()

	clients := &handoverClients{addr: ln.Addr().String(), stop: make(chan struct{})}
	stopClients := sync.OnceFunc(func() { close(clients.stop); clients.wg.Wait() })
	defer stopClients()
	clients.start(8)
	if !waitFor(10*time.Second, func() bool { return clients.byParent.Load() >= 100 }) {
		t.Fatalf("the parent answered %d requests in 10s", clients.byParent.Load())
	}

	// Hand the listener over.
	f, err := ln.(filer).File()
	if err != nil {
		t.Fatal(err)
	}
	reportR, reportW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer reportR.Close()
	cmd := exec.CommandContext(childContext(t), os.Args[0], "-test.run=^TestHandoverChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), handoverChildEnv+"=1")
	cmd.ExtraFiles = []*os.File{f, reportW} // handoverListenerFd, handoverReportFd
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	clients.childPid.Store(int64(cmd.Process.Pid))
	// The child serves only once its pid is known here, so no answer of
	// its can be taken for a stranger's.
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	reportW.Close()
	exited := false
	defer func() {
		if !exited {
			stdin.Close()
			cmd.Wait()
		}
	}()
	report := bufio.NewReader(reportR)
	readReport := func(what string) string {
		t.Helper()
		reportR.SetReadDeadline(time.Now().Add(20 * time.Second))
		line, err := report.ReadString('\n')
		if err != nil {
			stdin.Close()
			cmd.Wait()
			exited = true
			t.Fatalf("waiting for the child to report %s: %v\n--- child output ---\n%s", what, err, out.String())
		}
		return strings.TrimSpace(line)
	}
	if got := readReport("that it serves"); got != "serving" {
		t.Fatalf("child reported %q, want serving", got)
	}
	// Both processes accept on the one socket for a while.
	if !waitFor(10*time.Second, func() bool { return clients.byChild.Load() >= 20 }) {
		t.Fatalf("the child answered %d requests in 10s while both were serving", clients.byChild.Load())
	}
	// The parent stops accepting, lets every connection it took reach
	// its handler, and shuts down. Shutdown alone is not graceful here:
	// net/http drops, unanswered, a request it reads once Shutdown has
	// begun, and a connection just accepted may not have been read yet.
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-serveErr; !errors.Is(err, net.ErrClosed) {
		t.Errorf("the parent's Serve returned %v, want an error matching net.ErrClosed", err)
	}
	if !waitFor(10*time.Second, func() bool { return parentServed.Load() == parentAccepted.Load() }) {
		t.Errorf("the parent accepted %d connections and answered %d requests", parentAccepted.Load(), parentServed.Load())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := parent.Shutdown(ctx); err != nil {
		t.Fatalf("the parent's Shutdown: %v", err)
	}
	parentTotal := parentServed.Load()
	// The child alone serves on.
	childBefore := clients.byChild.Load()
	if !waitFor(10*time.Second, func() bool { return clients.byChild.Load() >= childBefore+100 }) {
		t.Errorf("the child answered %d requests in 10s after the parent shut down", clients.byChild.Load()-childBefore)
	}
	stopClients()
	stdin.Close() // the child shuts down
	childReport := readReport("what it served")
	err = cmd.Wait()
	exited = true
	if err != nil {
		t.Fatalf("child: %v\n--- child output ---\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "--- PASS: TestHandoverChild ") {
		t.Fatalf("the child did not pass TestHandoverChild:\n%s", out.String())
	}

	sent, byParent, byChild := clients.sent.Load(), clients.byParent.Load(), clients.byChild.Load()
	t.Logf("%d requests: %d answered by the parent, %d by the child", sent, byParent, byChild)
	for i, f := range clients.failures {
		if i == 10 {
			t.Errorf("and %d more", len(clients.failures)-10)
			break
		}
		t.Errorf("request failed: %s", f)
	}
	if byParent+byChild != sent {
		t.Errorf("%d requests sent, %d answered", sent, byParent+byChild)
	}
	if byParent != parentTotal {
		t.Errorf("the parent's handler ran %d times, clients got %d of its answers", parentTotal, byParent)
	}
	if want := fmt.Sprintf("served %d", byChild); childReport != want {
		t.Errorf("the child reported %q; clients got %d of its answers", childReport, byChild)
	}
}

// TestHandoverChild runs only in the child TestHandover starts: it serves
// on the inherited listener until its stdin closes.
func TestHandoverChild(t *testing.T) {
	if os.Getenv(handoverChildEnv) != "1" {
		t.Skip("run by TestHandover in a child process")
	}
	f := os.NewFile(handoverListenerFd, "listener")
	report := os.NewFile(handoverReportFd, "report")
	defer report.Close()
	ln, err := uringnet.FileListener(f)
	if err != nil {
		t.Fatalf("FileListener: %v", err)
	}
	f.Close()
	if _, ok := ln.(*uringnet.Listener); !ok {
		t.Fatalf("FileListener returned %T, want *uringnet.Listener", ln)
	}
	var served atomic.Int64
	srv := &http.Server{Handler: whoHandler("child", &served), ReadHeaderTimeout: 10 * time.Second}
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil {
		t.Fatalf("no go-ahead from the parent: %v", err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if _, err := fmt.Fprintln(report, "serving"); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, in)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-serveErr; err != http.ErrServerClosed {
		t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
	}
	fmt.Fprintf(report, "served %d\n", served.Load())
}
