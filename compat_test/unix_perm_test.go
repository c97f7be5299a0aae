package compat_test

import (
	"context"
	"flag"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// permDir, set only in the unprivileged child TestUnixPermissionErrors
// starts when it runs as root, names the directory it prepared.
var permDir = flag.String("unix-perm-dir", "", "run TestUnixPermissionErrors's unprivileged checks on this prepared directory")

// permDone is what the unprivileged checks log once they have all run, so
// the parent knows the child did not pass by checking nothing.
const permDone = "unix permission checks ran for both stacks"

// TestUnixPermissionErrors checks listening and dialing where the file
// system denies it: bind in a directory the caller may not search or
// write, connect through such a directory or to a socket file the caller
// may not write. Root passes every such check, so as root the test
// prepares the files and runs its checks in a copy of itself as the
// unprivileged user nobody.
func TestUnixPermissionErrors(t *testing.T) {
	if *permDir != "" {
		unixPermissionChecks(t, *permDir)
		return
	}
	dir := sockDir(t)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	listenAt := func(path string, mode os.FileMode) {
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"private", "rodir"} {
		if err := os.Mkdir(dir+"/"+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	listenAt(dir+"/private/live", 0o777)
	listenAt(dir+"/locked", 0)
	listenAt(dir+"/open", 0o777)
	for d, mode := range map[string]os.FileMode{"private": 0, "rodir": 0o555} {
		if err := os.Chmod(dir+"/"+d, mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Chmod(dir+"/private", 0o755); os.Chmod(dir+"/rodir", 0o755) })

	if os.Geteuid() != 0 {
		unixPermissionChecks(t, dir)
		return
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := dir + "/compat.test"
	if err := os.Link(self, bin); err != nil {
		data, err := os.ReadFile(self)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestUnixPermissionErrors$", "-test.v", "-test.count=1",
		"-test.timeout="+testTimeout.String(), "-unix-perm-dir="+dir)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the unprivileged child hung:\n%s", out)
	}
	if err != nil || !strings.Contains(string(out), permDone) {
		t.Fatalf("unprivileged checks (%v):\n%s", err, out)
	}
}

// unixPermissionChecks runs, as a user the files in dir deny, each denied
// call against both stacks.
func unixPermissionChecks(t *testing.T, dir string) {
	if os.Geteuid() == 0 {
		t.Fatal("the permission checks need an unprivileged user")
	}
	ran := 0
	forEachStack(t, func(t *testing.T, s unixStack) {
		for _, path := range []string{dir + "/private/s", dir + "/rodir/s"} {
			_, err := s.listen("unix", path)
			checkErr(t, "listen at "+path, err, opErr{
				text: "listen unix " + path + ": bind: permission denied",
				op:   "listen", net: "unix", source: "nil", addr: unixAddr("unix", path),
				errno: syscall.EACCES,
			})
		}
		for _, path := range []string{dir + "/private/live", dir + "/locked"} {
			_, err := s.dial(nil, "unix", path)
			checkErr(t, "dial "+path, err, opErr{
				text: "dial unix " + path + ": connect: permission denied",
				op:   "dial", net: "unix", source: "nil", addr: unixAddr("unix", path),
				errno: syscall.EACCES,
			})
		}
		// The denials are the files', not the user's: an open socket
		// takes this user's connection.
		c := s.mustDial(t, nil, "unix", dir+"/open")
		c.Close()
		ran++
	})
	if ran == len(unixStacks) && !t.Failed() {
		t.Log(permDone)
	}
}
