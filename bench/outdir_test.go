package main

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain runs the command itself when a test re-executes this binary
// with benchMainEnv set, so a test can watch a whole invocation: flags,
// where the files go, what it prints.
func TestMain(m *testing.M) {
	if os.Getenv(benchMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const benchMainEnv = "OURIO_BENCH_RUN_MAIN"

// committedResults is the repository's docs/benchmarks, where full runs
// write and quick runs must not.
func committedResults(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(filepath.Dir(wd), "docs", "benchmarks")
	if _, err := os.Stat(filepath.Join(dir, "results.md")); err != nil {
		t.Fatalf("no committed results where expected: %v", err)
	}
	return dir
}

// TestResultsDir checks each way the output directory is chosen.
func TestResultsDir(t *testing.T) {
	docs := committedResults(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	for _, c := range []struct {
		quick  bool
		out    string
		outSet bool
	}{{false, "elsewhere", true}, {true, "elsewhere", true}, {true, "", true}, {false, "", true}} {
		if got, err := resultsDir(c.quick, c.out, c.outSet); err != nil || got != c.out {
			t.Errorf("quick=%v -out %q: %q, %v", c.quick, c.out, got, err)
		}
	}
	if got, err := resultsDir(false, "", false); err != nil || got != docs {
		t.Errorf("full run writes %q (%v), want %q", got, err, docs)
	}
	a, errA := resultsDir(true, "", false)
	b, errB := resultsDir(true, "", false)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if a == b || filepath.Dir(a) != tmp || filepath.Dir(b) != tmp {
		t.Errorf("quick runs write %q and %q, want two new directories in %q", a, b, tmp)
	}
}

// TestQuickRunLeavesCommittedResults runs the command with -quick and no
// -out: it must say where it wrote, write there, and leave docs/benchmarks
// byte for byte as it was.
func TestQuickRunLeavesCommittedResults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a server process")
	}
	docs := committedResults(t)
	before := treeSums(t, docs)
	tmp := t.TempDir()

	// Package net on both ends, one short round: what is tested is where
	// the files go, not io_uring.
	cmd := exec.Command(os.Args[0], "-quick", "-workloads", "echo", "-servers", "net", "-gen", "net",
		"-sizes", "64", "-conns", "1", "-rounds", "1", "-syscalls=false")
	cmd.Env = append(os.Environ(), benchMainEnv+"=1", "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}

	dirs, err := filepath.Glob(filepath.Join(tmp, "ourio-bench-quick-*"))
	if err != nil || len(dirs) != 1 {
		t.Fatalf("quick result directories in TMPDIR: %v, %v\n%s", dirs, err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "results go to "+dirs[0]) {
		t.Errorf("the run does not say where its results went (%s):\n%s", dirs[0], stderr.String())
	}
	for _, f := range []string{"results.json", "results.md"} {
		if fi, err := os.Stat(filepath.Join(dirs[0], f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	after := treeSums(t, docs)
	if len(after) != len(before) {
		t.Errorf("docs/benchmarks had %d files, now %d", len(before), len(after))
	}
	for name, sum := range before {
		if after[name] != sum {
			t.Errorf("quick run changed docs/benchmarks/%s", name)
		}
	}
}

// treeSums is the SHA-256 of every file under dir, by relative path.
func treeSums(t *testing.T, dir string) map[string][sha256.Size]byte {
	t.Helper()
	sums := map[string][sha256.Size]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		sums[rel] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}
