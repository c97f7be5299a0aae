package compat_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// ReadFrom and WriteTo, where package net splices or sends a file and
// uringnet splices on the ring, case by case on both: what each call
// returns, where it leaves a file's offset and a LimitedReader's N, and
// exactly which bytes the other end got.

const spliceFileSize = 3<<20 + 123 // not a multiple of any pipe or page size

func spliceFile(t *testing.T, flag int) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data")
	data := make([]byte, spliceFileSize)
	for i := range data {
		data[i] = byte(i*31 + i>>11)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// drain reads everything p receives until EOF, and describes it.
func drain(p tcpConn) <-chan string {
	ch := make(chan string, 1)
	go func() {
		p.SetReadDeadline(time.Now().Add(testTimeout))
		got, err := io.ReadAll(p)
		ch <- fmt.Sprintf("peer got %d bytes sha %x err %v", len(got), sha256.Sum256(got), err)
	}()
	return ch
}

func offset(f *os.File) int64 {
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return -1
	}
	return off
}

var tempRE = regexp.MustCompile(`/tmp/\S+/\d+/`)

type spliceCase struct {
	name string
	run  func(t *testing.T, c, p tcpConn) string
}

var spliceCases = []spliceCase{
	{"ReadFrom a whole file", func(t *testing.T, c, p tcpConn) string {
		f := spliceFile(t, os.O_RDONLY)
		got := drain(p)
		n, err := c.(io.ReaderFrom).ReadFrom(f)
		c.CloseWrite()
		return fmt.Sprintf("%s offset %d\n%s", ioOutcome(int(n), err), offset(f), <-got)
	}},
	{"ReadFrom a file from its offset", func(t *testing.T, c, p tcpConn) string {
		f := spliceFile(t, os.O_RDONLY)
		f.Seek(1<<20+7, io.SeekStart)
		got := drain(p)
		n, err := c.(io.ReaderFrom).ReadFrom(f)
		c.CloseWrite()
		return fmt.Sprintf("%s offset %d\n%s", ioOutcome(int(n), err), offset(f), <-got)
	}},
	{"ReadFrom a LimitedReader around a file", func(t *testing.T, c, p tcpConn) string {
		f := spliceFile(t, os.O_RDONLY)
		lr := &io.LimitedReader{R: f, N: 1<<20 + 5}
		got := drain(p)
		n, err := c.(io.ReaderFrom).ReadFrom(lr)
		c.CloseWrite()
		return fmt.Sprintf("%s offset %d left %d\n%s", ioOutcome(int(n), err), offset(f), lr.N, <-got)
	}},
	{"ReadFrom a LimitedReader longer than its file", func(t *testing.T, c, p tcpConn) string {
		f := spliceFile(t, os.O_RDONLY)
		lr := &io.LimitedReader{R: f, N: 1 << 30}
		got := drain(p)
		n, err := c.(io.ReaderFrom).ReadFrom(lr)
		c.CloseWrite()
		return fmt.Sprintf("%s offset %d left %d\n%s", ioOutcome(int(n), err), offset(f), lr.N, <-got)
	}},
	{"ReadFrom a file at its end", func(t *testing.T, c, p tcpConn) string {
		f := spliceFile(t, os.O_RDONLY)
		f.Seek(0, io.SeekEnd)
		got := drain(p)
		n, err := c.(io.ReaderFrom).ReadFrom(f)
		c.CloseWrite()
		return fmt.Sprintf("%s offset %d\n%s", ioOutcome(int(n), err), offset(f), <-got)
	}},
	{"ReadFrom a file opened write-only", func(t *testing.T, c, p tcpConn) string {
		f := spliceFile(t, os.O_WRONLY)
		got := drain(p)
		n, err := c.(io.ReaderFrom).ReadFrom(f)
		c.CloseWrite()
		// The one deliberate difference: the error names the system
		// call that failed, package net's sendfile, uringnet's splice;
		// the Op, the errno and the counts are the same.
		d := strings.NewReplacer("sendfile", "SYSCALL", "splice", "SYSCALL").Replace(ioOutcome(int(n), err))
		return fmt.Sprintf("%s offset %d\n%s", d, offset(f), <-got)
	}},
	{"ReadFrom a bytes.Reader", func(t *testing.T, c, p tcpConn) string {
		data := bytes.Repeat([]byte("0123456789abcdef"), 70001)
		r := bytes.NewReader(data)
		got := drain(p)
		n, err := c.(io.ReaderFrom).ReadFrom(r)
		c.CloseWrite()
		return fmt.Sprintf("%s left %d\n%s", ioOutcome(int(n), err), r.Len(), <-got)
	}},
	{"WriteTo a file", func(t *testing.T, c, p tcpConn) string {
		f := spliceFile(t, os.O_RDWR|os.O_TRUNC)
		data := bytes.Repeat([]byte("fedcba9876543210"), 70001)
		go func() { p.Write(data); p.CloseWrite() }()
		n, err := c.(io.WriterTo).WriteTo(f)
		back, _ := os.ReadFile(f.Name())
		return fmt.Sprintf("%s offset %d file %d bytes sha %x", ioOutcome(int(n), err), offset(f), len(back), sha256.Sum256(back))
	}},
	{"WriteTo a file opened for appending", func(t *testing.T, c, p tcpConn) string {
		f := spliceFile(t, os.O_WRONLY|os.O_APPEND)
		data := bytes.Repeat([]byte("append"), 50001)
		go func() { p.Write(data); p.CloseWrite() }()
		n, err := c.(io.WriterTo).WriteTo(f)
		back, _ := os.ReadFile(f.Name())
		return fmt.Sprintf("%s file %d bytes sha %x", ioOutcome(int(n), err), len(back), sha256.Sum256(back))
	}},
	{"WriteTo a pipe", func(t *testing.T, c, p tcpConn) string {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		data := bytes.Repeat([]byte("pipe"), 300001)
		go func() { p.Write(data); p.CloseWrite() }()
		got := make(chan string, 1)
		go func() {
			b, err := io.ReadAll(pr)
			got <- fmt.Sprintf("pipe got %d bytes sha %x err %v", len(b), sha256.Sum256(b), err)
		}()
		n, err := c.(io.WriterTo).WriteTo(pw)
		pw.Close()
		return ioOutcome(int(n), err) + "\n" + <-got
	}},
	{"WriteTo a closed file", func(t *testing.T, c, p tcpConn) string {
		f := spliceFile(t, os.O_WRONLY)
		f.Close()
		go func() { p.Write([]byte("some bytes")); p.CloseWrite() }()
		n, err := c.(io.WriterTo).WriteTo(f)
		return ioOutcome(int(n), err)
	}},
}

func TestSpliceContract(t *testing.T) {
	requireUring(t)
	for _, sc := range spliceCases {
		t.Run(sc.name, func(t *testing.T) {
			got := map[string]string{}
			for _, tp := range transports {
				c, p := contractPair(t, tp, false)
				got[tp.name] = sc.run(t, c, p)
			}
			// Each run has its own temporary directory.
			for k, v := range got {
				got[k] = tempRE.ReplaceAllString(v, "TMP/")
			}
			if got["uringnet"] != got["net"] {
				t.Errorf("uringnet gives\n%s\npackage net\n%s", got["uringnet"], got["net"])
			}
		})
	}
}
