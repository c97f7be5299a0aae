package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// needTool returns the path of an outside client, failing (not skipping)
// when it is missing: .ci/run installs these.
func needTool(t *testing.T, name, debPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found in PATH: install the Debian package %s (apt-get install -y %s); .ci/run installs it", name, debPackage, debPackage)
	}
	return p
}

// exampleServer is examples/nethttp running as a child process.
type exampleServer struct {
	addr    string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has been waited for
	exitErr error         // Wait's result, once exited is closed

	mu  sync.Mutex
	log bytes.Buffer
}

func (s *exampleServer) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// startExample builds examples/nethttp into a temporary directory (with
// the race detector when this test binary has it) and runs it on a free
// loopback port, waiting until it has logged the address it listens on.
func startExample(t *testing.T, args ...string) *exampleServer {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not found: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "nethttp")
	build := []string{"build", "-o", bin}
	if raceEnabled {
		build = append(build, "-race")
	}
	build = append(build, "github.com/ourio-go/ourio/examples/nethttp")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, goTool, build...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(build, " "), err, out)
	}

	s := &exampleServer{exited: make(chan struct{})}
	s.cmd = exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	s.cmd.Env = append(os.Environ(), "GORACE=halt_on_error=1 atexit_sleep_ms=0")
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrCh := make(chan string, 1)
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		listening := regexp.MustCompile(`listening on (\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addrCh <- m[1]
			}
		}
	}()
	go func() {
		<-logDone // Wait must not run before stderr is drained
		s.exitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		// Normally the test has already stopped it; this is for failures.
		s.cmd.Process.Kill()
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
		}
	})
	select {
	case s.addr = <-addrCh:
	case <-s.exited:
		t.Fatalf("example exited before listening: %v\n%s", s.exitErr, s.logText())
	case <-time.After(20 * time.Second):
		t.Fatalf("example not listening after 20s:\n%s", s.logText())
	}
	if !strings.Contains(s.logText(), "running on io_uring") {
		t.Fatalf("example did not log that it runs on io_uring:\n%s", s.logText())
	}
	return s
}

// stop sends SIGTERM and checks that the server shut down gracefully and,
// in a race build, found no race.
func (s *exampleServer) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if s.exitErr != nil {
			t.Errorf("example exited with %v:\n%s", s.exitErr, s.logText())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("example did not stop within 15s of SIGTERM:\n%s", s.logText())
	}
	if !strings.Contains(s.logText(), "stopped after") {
		t.Errorf("example did not log a graceful stop:\n%s", s.logText())
	}
}

// run runs an outside client with a time limit and returns its stdout.
func run(t *testing.T, limit time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestExternalClients drives examples/nethttp (with -h2c) with curl and
// h2load over HTTP/1.1 and cleartext HTTP/2.
func TestExternalClients(t *testing.T) {
	requireUring(t)
	curl := needTool(t, "curl", "curl")
	h2load := needTool(t, "h2load", "nghttp2-client")
	srv := startExample(t, "-h2c")
	base := "http://" + srv.addr

	upload := filepath.Join(t.TempDir(), "upload.bin")
	const uploadSize = 3 << 20 // past curl's Expect: 100-continue threshold
	f, err := os.Create(upload)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(f, payload(7, uploadSize))
	f.Close()
	uploadSum := mustDigest(7, uploadSize)

	curlArgs := func(args ...string) []string {
		return append([]string{"-sS", "--fail", "--max-time", "20"}, args...)
	}
	for _, tc := range []struct {
		name    string
		flag    string
		version string
	}{{"curl/http1.1", "--http1.1", "1.1"}, {"curl/h2c", "--http2-prior-knowledge", "2"}} {
		t.Run(tc.name, func(t *testing.T) {
			out := run(t, 30*time.Second, curl, curlArgs(tc.flag, "-w", "\n%{http_version} %{http_code}", base+"/")...)
			if !strings.Contains(out, "Hello from net/http on io_uring") {
				t.Errorf("hello page:\n%s", out)
			}
			if !strings.HasSuffix(out, "\n"+tc.version+" 200") {
				t.Errorf("curl reports %q, want HTTP version %s and status 200", out[strings.LastIndexByte(out, '\n')+1:], tc.version)
			}

			out = run(t, 30*time.Second, curl, curlArgs(tc.flag, base+"/stats")...)
			var st struct {
				IOUring bool   `json:"io_uring"`
				Via     string `json:"this_request_via"`
			}
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Fatalf("/stats: %v\n%s", err, out)
			}
			if want := map[string]string{"1.1": "HTTP/1.1", "2": "HTTP/2.0"}[tc.version]; !st.IOUring || st.Via != want {
				t.Errorf("/stats says io_uring %v, request via %q; want true, %q", st.IOUring, st.Via, want)
			}

			// A 3 MiB echo: curl sends Expect: 100-continue on HTTP/1.1;
			// the trailers carry the server's length and digest.
			echoed := filepath.Join(t.TempDir(), "echoed.bin")
			headers := run(t, 30*time.Second, curl, curlArgs(tc.flag, "--data-binary", "@"+upload, "-o", echoed, "-D", "-", base+"/echo")...)
			ef, err := os.Open(echoed)
			if err != nil {
				t.Fatal(err)
			}
			d, n, _ := digest(ef)
			ef.Close()
			if n != uploadSize || d != uploadSum {
				t.Errorf("echo came back as %d bytes hashing to %s, want %d bytes hashing to %s", n, d, uploadSize, uploadSum)
			}
			lower := strings.ToLower(headers)
			if !strings.Contains(lower, "x-echo-sha256: "+uploadSum) || !strings.Contains(lower, fmt.Sprintf("x-echo-length: %d", uploadSize)) {
				t.Errorf("trailers missing or wrong in:\n%s", headers)
			}
			if tc.version == "1.1" && !strings.Contains(headers, "HTTP/1.1 100 Continue") {
				t.Errorf("no 100 Continue before the echo:\n%s", headers)
			}
		})
	}

	body := filepath.Join(t.TempDir(), "post.bin")
	f, err = os.Create(body)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(f, payload(8, 64<<10))
	f.Close()
	var h2loadRequests int
	for _, tc := range []struct {
		name  string
		proto string
		args  []string
		n     int
	}{
		{"h2load/http1.1", "http/1.1", []string{"--h1", "-n", "2000", "-c", "16", base + "/"}, 2000},
		{"h2load/h2c", "h2c", []string{"-n", "2000", "-c", "16", "-m", "8", base + "/"}, 2000},
		{"h2load/http1.1-post-64KiB", "http/1.1", []string{"--h1", "-n", "300", "-c", "8", "-d", body, base + "/echo"}, 300},
		{"h2load/h2c-post-64KiB", "h2c", []string{"-n", "300", "-c", "8", "-m", "4", "-d", body, base + "/echo"}, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := run(t, 60*time.Second, h2load, tc.args...)
			checkH2load(t, out, tc.proto, tc.n)
		})
		h2loadRequests += tc.n
	}

	t.Run("stats", func(t *testing.T) {
		out := run(t, 30*time.Second, curl, curlArgs(base+"/stats")...)
		var st struct {
			IOUring  bool   `json:"io_uring"`
			Listener string `json:"listener"`
			Requests int    `json:"requests"`
			HTTP1    int    `json:"requests_http1"`
			HTTP2    int    `json:"requests_http2"`
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("/stats: %v\n%s", err, out)
		}
		if !st.IOUring || st.Listener != "*uringnet.Listener" {
			t.Errorf("/stats: io_uring %v, listener %q", st.IOUring, st.Listener)
		}
		if st.Requests < h2loadRequests || st.HTTP1 < 2300 || st.HTTP2 < 2300 {
			t.Errorf("/stats counted %d requests (%d HTTP/1, %d HTTP/2), want at least %d with 2300 of each", st.Requests, st.HTTP1, st.HTTP2, h2loadRequests)
		}
	})
	srv.stop(t)
}

var (
	h2loadRequestsRE = regexp.MustCompile(`(?m)^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout$`)
	h2loadStatusRE   = regexp.MustCompile(`(?m)^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx$`)
	h2loadProtoRE    = regexp.MustCompile(`(?m)^Application protocol: (\S+)$`)
	h2loadFinishedRE = regexp.MustCompile(`(?m)^finished in .*$`)
)

// checkH2load parses h2load's summary: all n requests done and succeeded
// with a 2xx status, none failed, errored or timed out, over proto.
func checkH2load(t *testing.T, out, proto string, n int) {
	t.Helper()
	m := h2loadRequestsRE.FindStringSubmatch(out)
	s := h2loadStatusRE.FindStringSubmatch(out)
	if m == nil || s == nil {
		t.Fatalf("cannot parse h2load's output:\n%s", out)
	}
	num := func(v string) int { x, _ := strconv.Atoi(v); return x }
	total, started, done, ok, failed, errored, timeout := num(m[1]), num(m[2]), num(m[3]), num(m[4]), num(m[5]), num(m[6]), num(m[7])
	if total != n || started != n || done != n || ok != n || failed != 0 || errored != 0 || timeout != 0 {
		t.Errorf("h2load: %s, want %d succeeded and none failed, errored or timed out", m[0], n)
	}
	if num(s[1]) != n {
		t.Errorf("h2load: %s, want %d 2xx", s[0], n)
	}
	if p := h2loadProtoRE.FindStringSubmatch(out); p == nil || p[1] != proto {
		t.Errorf("h2load used application protocol %v, want %s", p, proto)
	}
	t.Logf("%s; %s", h2loadFinishedRE.FindString(out), m[0])
	if t.Failed() {
		t.Logf("h2load output:\n%s", out)
	}
}
