//go:build linux

package uringnet_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/ourio-go/ourio/core"
	"github.com/ourio-go/ourio/uringnet"
	"golang.org/x/net/nettest"
	"golang.org/x/sys/unix"
)

// The fallback to package net is tested for real: TestFallbackUnderSeccomp
// runs this test binary again with seccompChildEnv set, TestMain installs a
// seccomp filter that makes io_uring_setup fail with EPERM in every thread
// of that child, and TestFallbackChild checks what the child sees.

const (
	// seccompChildEnv marks the child process.
	seccompChildEnv = "OURIO_SECCOMP_CHILD"
	// seccompUnavailableExit is the child's exit code when the kernel
	// refuses the filter itself (no CONFIG_SECCOMP_FILTER, say).
	seccompUnavailableExit = 3
)

// TestFallbackUnderSeccomp checks that io_uring works here, then runs
// TestFallbackChild in a child process whose io_uring_setup is denied.
func TestFallbackUnderSeccomp(t *testing.T) {
	if os.Getenv(seccompChildEnv) != "" {
		t.Skip("this is the child")
	}

	// Without the filter io_uring is used: Available says so, and Listen,
	// Accept and Dial return this package's types, not package net's.
	if err := uringnet.Available(); err != nil {
		t.Fatalf("Available() = %v without a seccomp filter, want nil: the control case needs io_uring", err)
	}
	for _, network := range []string{"tcp", "unix", "unixpacket"} {
		ln, err := uringnet.Listen(network, fbAddr(t, network))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ln.(*uringnet.Listener); !ok {
			t.Errorf("%s: Listen returned %T with io_uring available, want *uringnet.Listener", network, ln)
		}
		srv, cli := fbConnect(t, ln, uringnet.Dial)
		if _, ok := cli.(*uringnet.Conn); !ok {
			t.Errorf("%s: Dial returned %T with io_uring available, want *uringnet.Conn", network, cli)
		}
		if _, ok := srv.(*uringnet.Conn); !ok {
			t.Errorf("%s: Accept returned %T with io_uring available, want *uringnet.Conn", network, srv)
		}
		fbEcho(t, srv, cli)
		ln.Close()
	}

	cmd := exec.CommandContext(childContext(t), os.Args[0], "-test.run=^TestFallbackChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), seccompChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == seccompUnavailableExit {
		t.Skipf("the kernel refuses seccomp filters here:\n%s", out)
	}
	if err != nil {
		t.Fatalf("child under seccomp failed: %v\n--- child output ---\n%s", err, out)
	}
	// The child must really have run, not skipped or matched nothing.
	if !strings.Contains(string(out), "--- PASS: TestFallbackChild ") || strings.Contains(string(out), "--- SKIP: TestFallbackChild ") {
		t.Fatalf("child did not run TestFallbackChild:\n%s", out)
	}
	t.Logf("child output:\n%s", out)
}

// TestFallbackChild runs only in the child that TestMain put under the
// seccomp filter.
func TestFallbackChild(t *testing.T) {
	if os.Getenv(seccompChildEnv) != "1" {
		t.Skip("run by TestFallbackUnderSeccomp in a child process")
	}

	t.Run("filter", func(t *testing.T) {
		// Every thread runs under the filter (TSYNC reached the threads
		// that existed before, the later ones inherited it).
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
			if err != nil {
				continue // the thread exited
			}
			if !strings.Contains(string(b), "\nSeccomp:\t2\n") {
				t.Errorf("thread %s is not in seccomp filter mode", task.Name())
			}
		}
		// io_uring_setup itself fails with EPERM, on any thread.
		done := make(chan error)
		for range 4 {
			go func() {
				runtime.LockOSThread() // a thread of its own, ended on return
				var params [120]byte   // struct io_uring_params
				fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 8, uintptr(unsafe.Pointer(&params)), 0)
				if errno == 0 {
					unix.Close(int(fd))
				}
				done <- errno
			}()
		}
		for range 4 {
			if err := <-done; err != unix.EPERM {
				t.Errorf("io_uring_setup under the filter: %v (%d), want EPERM", err, err)
			}
		}
		// Everything else still works.
		if _, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
			t.Errorf("socket under the filter: %v", err)
		}
	})

	t.Run("core.New", func(t *testing.T) {
		// By default core runs on epoll where io_uring is denied, and
		// says why; uringnet's rings force io_uring, which fails.
		r, err := core.New(core.Options{})
		if err != nil {
			t.Fatalf("core.New under the filter: %v, want a ring on epoll", err)
		}
		if r.Backend() != core.BackendEpoll || !errors.Is(r.IOURingError(), syscall.EPERM) {
			t.Errorf("core.New: backend %v, IOURingError %v; want epoll and EPERM", r.Backend(), r.IOURingError())
		}
		r.Close()
		r, err = core.New(core.Options{Backend: core.BackendIOURing})
		if err == nil {
			r.Close()
			t.Fatal("core.New with BackendIOURing succeeded under the filter")
		}
		var ue *core.UnsupportedError
		if !errors.As(err, &ue) || !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("core.New: %v (%T), want a *core.UnsupportedError matching errors.ErrUnsupported", err, err)
		}
		fbCheckReason(t, "core.New", err)
	})

	t.Run("Available", func(t *testing.T) {
		err := uringnet.Available()
		if err == nil {
			t.Fatal("Available() = nil under the filter")
		}
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("Available() = %v, want an error matching errors.ErrUnsupported", err)
		}
		fbCheckReason(t, "Available", err)
		if again := uringnet.Available(); again == nil || again.Error() != err.Error() {
			t.Errorf("second Available() = %v, want %v", again, err)
		}
	})

	t.Run("echo", func(t *testing.T) {
		for _, network := range []string{"tcp", "unix", "unixpacket"} {
			t.Run(network, func(t *testing.T) {
				ln, err := uringnet.Listen(network, fbAddr(t, network))
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				defer ln.Close()
				srv, cli := fbConnect(t, ln, uringnet.Dial)
				fbWantStd(t, network, ln, srv, cli)
				fbEcho(t, srv, cli)
			})
		}
	})

	t.Run("udp", func(t *testing.T) {
		pc, err := uringnet.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("ListenPacket: %v", err)
		}
		defer pc.Close()
		if _, ok := pc.(*net.UDPConn); !ok {
			t.Fatalf("ListenPacket under the filter returned %T, want package net's *net.UDPConn", pc)
		}
		c, err := uringnet.Dial("udp", pc.LocalAddr().String())
		if err != nil {
			t.Fatalf("Dial udp: %v", err)
		}
		defer c.Close()
		if _, ok := c.(*net.UDPConn); !ok {
			t.Fatalf("Dial udp under the filter returned %T, want package net's *net.UDPConn", c)
		}
		if _, err := c.Write([]byte("fallback")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "fallback" {
			t.Fatalf("ReadFrom: %q, %v", buf[:n], err)
		}
		lc := uringnet.ListenConfig{NoFallback: true}
		if _, err := lc.ListenPacket(context.Background(), "udp", "127.0.0.1:0"); err == nil {
			t.Error("ListenPacket with NoFallback succeeded under the filter")
		} else {
			fbCheckNoFallback(t, "listen", "udp", err)
		}
	})

	t.Run("config", func(t *testing.T) {
		// The options reach package net: Control runs for the listener
		// and the dialer.
		var calls []string
		control := func(who string) func(string, string, syscall.RawConn) error {
			return func(network, address string, c syscall.RawConn) error {
				calls = append(calls, who+" "+network)
				return nil
			}
		}
		lc := uringnet.ListenConfig{Control: control("listen"), KeepAlive: -1}
		ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("ListenConfig.Listen: %v", err)
		}
		defer ln.Close()
		d := uringnet.Dialer{Control: control("dial"), Timeout: 10 * time.Second}
		srv, cli := fbConnect(t, ln, func(network, address string) (net.Conn, error) {
			return d.DialContext(context.Background(), network, address)
		})
		fbWantStd(t, "tcp", ln, srv, cli)
		fbEcho(t, srv, cli)
		if got := strings.Join(calls, ", "); got != "listen tcp4, dial tcp4" {
			t.Errorf("Control calls: %q, want %q", got, "listen tcp4, dial tcp4")
		}
	})

	t.Run("config context", func(t *testing.T) {
		// ControlContext, over Control, and Cancel reach package net too.
		ln, err := uringnet.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var calls []string
		d := uringnet.Dialer{
			Control: func(network, _ string, _ syscall.RawConn) error {
				calls = append(calls, "Control "+network)
				return nil
			},
			ControlContext: func(_ context.Context, network, _ string, _ syscall.RawConn) error {
				calls = append(calls, "ControlContext "+network)
				return nil
			},
			Timeout: 10 * time.Second,
		}
		srv, cli := fbConnect(t, ln, func(network, address string) (net.Conn, error) {
			return d.DialContext(context.Background(), network, address)
		})
		fbWantStd(t, "tcp", ln, srv, cli)
		if got := strings.Join(calls, ", "); got != "ControlContext tcp4" {
			t.Errorf("calls: %q, want %q", got, "ControlContext tcp4")
		}
		// Cancel is watched by a goroutine, in package net too: close it
		// while the dial waits on a full accept queue.
		canceled := make(chan struct{})
		time.AfterFunc(50*time.Millisecond, func() { close(canceled) })
		_, err = (&uringnet.Dialer{Cancel: canceled}).Dial("tcp", fullBacklog(t))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("dial with Cancel closed: %v, want context.Canceled", err)
		}
	})

	t.Run("http", func(t *testing.T) {
		ln, err := uringnet.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ln.(*net.TCPListener); !ok {
			t.Fatalf("Listen returned %T, want *net.TCPListener", ln)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello %s", r.URL.Path)
		})}
		go srv.Serve(ln)
		defer srv.Close()
		var d uringnet.Dialer
		client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 10 * time.Second}
		defer client.CloseIdleConnections()
		for range 3 { // the second and third reuse the connection
			resp, err := client.Get("http://" + ln.Addr().String() + "/fallback")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(body) != "hello /fallback" {
				t.Fatalf("GET: %q, %v", body, err)
			}
		}
	})

	t.Run("NoFallback", func(t *testing.T) {
		for _, network := range []string{"tcp", "unix", "unixpacket"} {
			lc := uringnet.ListenConfig{NoFallback: true}
			ln, err := lc.Listen(context.Background(), network, fbAddr(t, network))
			if err == nil {
				ln.Close()
				t.Errorf("%s: Listen with NoFallback succeeded under the filter", network)
			} else {
				fbCheckNoFallback(t, "listen", network, err)
			}

			// A real listener to dial, so only io_uring can make Dial fail.
			std, err := net.Listen(network, fbAddr(t, network))
			if err != nil {
				t.Fatal(err)
			}
			d := uringnet.Dialer{NoFallback: true}
			c, err := d.Dial(network, std.Addr().String())
			std.Close()
			if err == nil {
				c.Close()
				t.Errorf("%s: Dial with NoFallback succeeded under the filter", network)
			} else {
				fbCheckNoFallback(t, "dial", network, err)
			}
		}
	})

	t.Run("nettest", func(t *testing.T) {
		for _, network := range []string{"tcp", "unix"} {
			t.Run(network, func(t *testing.T) {
				nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
					ln, err := uringnet.Listen(network, fbAddr(t, network))
					if err != nil {
						return nil, nil, nil, err
					}
					defer ln.Close()
					srv, cli, err := fbDialAccept(ln, uringnet.Dial)
					if err != nil {
						return nil, nil, nil, err
					}
					fbWantStd(t, network, ln, srv, cli)
					return cli, srv, func() { cli.Close(); srv.Close() }, nil
				})
			})
		}
	})
}

// fbCheckReason checks that err says that io_uring is what failed, and why.
func fbCheckReason(t *testing.T, what string, err error) {
	t.Helper()
	msg := err.Error()
	if !strings.Contains(msg, "io_uring") {
		t.Errorf("%s: %q does not mention io_uring", what, msg)
	}
	if !strings.Contains(msg, unix.EPERM.Error()) && !strings.Contains(msg, "EPERM") {
		t.Errorf("%s: %q does not give the reason (EPERM)", what, msg)
	}
	if !strings.Contains(msg, "seccomp filter denies io_uring_setup") {
		t.Errorf("%s: %q does not name the cause (the seccomp filter)", what, msg)
	}
}

// fbCheckNoFallback checks the error of Listen or Dial with NoFallback set.
func fbCheckNoFallback(t *testing.T, op, network string, err error) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op || oe.Net != network {
		t.Errorf("%s %s with NoFallback: %v (%T), want a *net.OpError with Op %q and Net %q", op, network, err, err, op, network)
	}
	var ue *core.UnsupportedError
	if !errors.Is(err, errors.ErrUnsupported) || !errors.As(err, &ue) {
		t.Errorf("%s %s with NoFallback: %v does not wrap a *core.UnsupportedError matching errors.ErrUnsupported", op, network, err)
	}
	fbCheckReason(t, op+" with NoFallback", err)
}

// fbAddr returns an address to listen on: an ephemeral loopback port,
// or a socket file in a fresh directory.
func fbAddr(t *testing.T, network string) string {
	if network == "unix" || network == "unixpacket" {
		return filepath.Join(t.TempDir(), "s")
	}
	return "127.0.0.1:0"
}

// fbConnect dials ln with dial and returns both ends; the test closes them.
func fbConnect(t *testing.T, ln net.Listener, dial func(network, address string) (net.Conn, error)) (srv, cli net.Conn) {
	t.Helper()
	srv, cli, err := fbDialAccept(ln, dial)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close(); srv.Close() })
	return srv, cli
}

// fbDialAccept dials ln with dial and returns both ends.
func fbDialAccept(ln net.Listener, dial func(network, address string) (net.Conn, error)) (srv, cli net.Conn, err error) {
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	cli, err = dial(ln.Addr().Network(), ln.Addr().String())
	if err != nil {
		ln.Close() // unblocks Accept
		<-ch
		return nil, nil, fmt.Errorf("Dial: %w", err)
	}
	r := <-ch
	if r.err != nil {
		cli.Close()
		return nil, nil, fmt.Errorf("Accept: %w", r.err)
	}
	return r.c, cli, nil
}

// fbWantStd checks that the listener and both connections are package net's.
func fbWantStd(t *testing.T, network string, ln net.Listener, srv, cli net.Conn) {
	t.Helper()
	var lnOK, srvOK, cliOK bool
	switch network {
	case "tcp":
		_, lnOK = ln.(*net.TCPListener)
		_, srvOK = srv.(*net.TCPConn)
		_, cliOK = cli.(*net.TCPConn)
	case "unix", "unixpacket":
		_, lnOK = ln.(*net.UnixListener)
		_, srvOK = srv.(*net.UnixConn)
		_, cliOK = cli.(*net.UnixConn)
	}
	if !lnOK || !srvOK || !cliOK {
		t.Errorf("%s fallback returned listener %T, accepted %T, dialed %T: want package net's types", network, ln, srv, cli)
	}
}

// fbEcho sends lines from cli to an echo loop on srv and reads them back.
func fbEcho(t *testing.T, srv, cli net.Conn) {
	t.Helper()
	go io.Copy(srv, srv)
	deadline := time.Now().Add(10 * time.Second)
	cli.SetDeadline(deadline)
	br := bufio.NewReader(cli)
	for i := range 100 {
		msg := fmt.Sprintf("line %d %s\n", i, strings.Repeat("x", i*37))
		if _, err := io.WriteString(cli, msg); err != nil {
			t.Fatalf("write: %v", err)
		}
		got, err := br.ReadString('\n')
		if err != nil || got != msg {
			t.Fatalf("echo %d: %q, %v", i, got, err)
		}
	}
}

// childContext bounds a child test process by the test's own deadline, less
// time to report its output.
func childContext(t *testing.T) context.Context {
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-5*time.Second))
		t.Cleanup(cancel)
	}
	return ctx
}
