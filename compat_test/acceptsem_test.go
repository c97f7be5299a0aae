package compat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// emfileChildEnv marks the child process TestAcceptEMFILE runs, which
// lowers its own descriptor limit.
const emfileChildEnv = "OURIO_COMPAT_EMFILE_CHILD"

// TestAcceptEMFILE: an Accept that finds the process out of descriptors
// fails with accept4's EMFILE, as in package net, and the connection stays
// queued for an Accept once a descriptor is free. The limit is lowered in
// a child process, so this process's other tests keep theirs.
func TestAcceptEMFILE(t *testing.T) {
	if os.Getenv(emfileChildEnv) == "1" {
		emfileChild(t)
		return
	}
	requireUring(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestAcceptEMFILE$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), emfileChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var got [2][2]outcome
	var after [2][2]string
	found := 0
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, "emfile-result ")
		if !ok {
			continue
		}
		var res struct {
			Stack   int
			Waiting bool
			Out     outcome
			After   string
		}
		if err := json.Unmarshal([]byte(rest), &res); err != nil {
			t.Fatalf("child line %q: %v", line, err)
		}
		w := 0
		if res.Waiting {
			w = 1
		}
		got[w][res.Stack], after[w][res.Stack] = res.Out, res.After
		found++
	}
	if found != 4 {
		t.Fatalf("child reported %d results, want 4:\n%s", found, out)
	}
	for w, how := range []string{"queued", "arriving while Accept waits"} {
		sameOutcome(t, "Accept out of descriptors, the connection "+how, got[w], outcome{
			Text:  "accept tcp {listener}: accept4: too many open files",
			Chain: "*net.OpError > *os.SyscallError > syscall.Errno(EMFILE)",
		})
		for i, a := range after[w] {
			if a != "accepted" {
				t.Errorf("%s: Accept once a descriptor is free, the connection %s: %s", stacks[i].name, how, a)
			}
		}
	}
}

// emfileChild runs in the child: for each stack and each way (a
// connection queued before Accept, or arriving while Accept waits, which
// in uringnet is an accept on the ring) it fills every descriptor under a
// lowered limit, accepts, frees one descriptor and accepts again, and
// prints what it saw.
func emfileChild(t *testing.T) {
	for _, waiting := range []bool{false, true} {
		for i, s := range stacks {
			out, after := emfileAccept(t, s, waiting)
			b, err := json.Marshal(struct {
				Stack   int
				Waiting bool
				Out     outcome
				After   string
			}{i, waiting, out, after})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Printf("emfile-result %s\n", b)
		}
	}
}

func emfileAccept(t *testing.T, s stack, waiting bool) (outcome, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ln, err := s.listen(ctx, listenConfig{}, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := roles{ln.Addr().String(): "{listener}"}
	// The client socket exists before the table is full; its connect
	// needs no descriptor.
	client, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(client)
	target := &syscall.SockaddrInet4{Port: ln.Addr().(*net.TCPAddr).Port, Addr: [4]byte{127, 0, 0, 1}}
	if !waiting {
		if err := syscall.Connect(client, target); err != nil {
			t.Fatal(err)
		}
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	lowered := old
	lowered.Cur = 256
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
	var fillers []int
	defer func() {
		for _, fd := range fillers {
			syscall.Close(fd)
		}
	}()
	for {
		fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			if err != syscall.EMFILE {
				t.Fatalf("filling the descriptor table: %v", err)
			}
			break
		}
		fillers = append(fillers, fd)
	}
	first := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if c != nil {
			c.Close()
		}
		first <- err
	}()
	if waiting {
		time.Sleep(50 * time.Millisecond) // let Accept wait
		if err := syscall.Connect(client, target); err != nil {
			t.Fatal(err)
		}
	}
	var aerr error
	select {
	case aerr = <-first:
	case <-ctx.Done():
		t.Fatalf("%s: Accept did not return", s.name)
	}
	syscall.Close(fillers[len(fillers)-1])
	fillers = fillers[:len(fillers)-1]
	after := "accepted"
	ln.(interface{ SetDeadline(time.Time) error }).SetDeadline(time.Now().Add(5 * time.Second))
	if sc, err := ln.Accept(); err != nil {
		after = err.Error()
	} else {
		sc.Close()
	}
	return errOutcome(aerr, r), after
}

// TestAcceptDeadlineSemantics: a past deadline fails Accept even with a
// connection queued, which a later Accept without deadline takes; a
// deadline moved while Accept waits ends it at its new time, as in
// package net.
func TestAcceptDeadlineSemantics(t *testing.T) {
	got := bothStacks(t, func(t *testing.T, s stack) outcome {
		ln, err := s.listen(context.Background(), listenConfig{}, "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		r := roles{}.port(ln.Addr(), "{port}")
		var b strings.Builder
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		ln.(deadliner).SetDeadline(time.Now().Add(-time.Second))
		_, err = ln.Accept()
		fmt.Fprintf(&b, "queued, past deadline: %v; ", errOutcome(err, r))
		ln.(deadliner).SetDeadline(time.Time{})
		c, err := ln.Accept()
		fmt.Fprintf(&b, "deadline cleared: %v; ", errOutcome(err, r))
		if c != nil {
			c.Close()
		}
		// An hour, moved to 100ms from now while Accept waits.
		ln.(deadliner).SetDeadline(time.Now().Add(time.Hour))
		start := time.Now()
		movedTo := make(chan time.Time, 1)
		timer := time.AfterFunc(20*time.Millisecond, func() {
			d := time.Now().Add(100 * time.Millisecond)
			ln.(deadliner).SetDeadline(d)
			movedTo <- d
		})
		defer timer.Stop()
		_, err = ln.Accept()
		end := time.Now()
		onTime := false
		select {
		case d := <-movedTo:
			onTime = !end.Before(d) && end.Sub(start) < 10*time.Second
		default: // Accept returned before the deadline was moved
		}
		fmt.Fprintf(&b, "deadline moved: %v, on time %v", errOutcome(err, r), onTime)
		return outcome{Text: b.String(), Chain: "ok"}
	})
	sameOutcome(t, "Accept and its deadline", got, outcome{Text: `queued, past deadline: "accept tcp 127.0.0.1:{port}: i/o timeout" [*net.OpError > *poll.DeadlineExceededError] {timeout deadline}; ` +
		`deadline cleared: "" [ok] {}; ` +
		`deadline moved: "accept tcp 127.0.0.1:{port}: i/o timeout" [*net.OpError > *poll.DeadlineExceededError] {timeout deadline}, on time true`, Chain: "ok"})
}

// TestConcurrentAccepts: Accepts waiting together each take one of the
// connections that arrive, and Close ends the ones left with
// net.ErrClosed, as in package net.
func TestConcurrentAccepts(t *testing.T) {
	const waiting, arriving = 4, 2
	got := bothStacks(t, func(t *testing.T, s stack) outcome {
		ln, err := s.listen(context.Background(), listenConfig{}, "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		r := roles{}.port(ln.Addr(), "{port}")
		results := make(chan outcome, waiting)
		for range waiting {
			go func() {
				c, err := ln.Accept()
				if c != nil {
					c.Close()
				}
				results <- errOutcome(err, r)
			}()
		}
		var clients []net.Conn
		for range arriving {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			clients = append(clients, c)
		}
		count := map[string]int{}
		for range arriving {
			o := <-results
			count[o.String()]++
		}
		ln.Close()
		for range waiting - arriving {
			o := <-results
			count[o.String()]++
		}
		for _, c := range clients {
			c.Close()
		}
		return outcome{Text: fmt.Sprint(count), Chain: "ok"}
	})
	sameOutcome(t, "concurrent Accepts", got, outcome{Text: fmt.Sprint(map[string]int{
		outcome{Chain: "ok"}.String(): arriving,
		outcome{Text: "accept tcp 127.0.0.1:{port}: use of closed network connection", Chain: "*net.OpError > unexported", Flags: "closed"}.String(): waiting - arriving,
	}), Chain: "ok"})
}
