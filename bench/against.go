package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// A change is judged against the code before it, and on this shared
// machine only figures from one run compare: -against builds the echo
// server of other revisions and runs its servers, as IMPL@REV (uringnet@REV
// unless -servers names others), in the same rounds as the working tree's,
// so every row alternates with the others and its ratio to net is measured
// under the same load.

// againstServer names the uringnet server of a revision given to -against.
func againstServer(rev string) string { return "uringnet@" + rev }

// withAgainstServers returns servers with uringnet@REV appended for each
// revision in against that no server names as IMPL@REV.
func withAgainstServers(servers, against []string) []string {
	for _, rev := range against {
		named := slices.ContainsFunc(servers, func(s string) bool {
			_, r, at := strings.Cut(s, "@")
			return at && r == rev
		})
		if !named {
			servers = append(servers, againstServer(rev))
		}
	}
	return servers
}

// buildServerAt extracts revision rev of the repository around the bench
// module into dir and builds its bench/echoserver there, against that
// revision's library, returning the binary.
func buildServerAt(ctx context.Context, rev, dir string, flags []string) (string, error) {
	top, err := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("-against needs the bench inside a git checkout: %v", err)
	}
	root := strings.TrimSpace(string(top))
	if strings.HasPrefix(rev, "-") {
		return "", fmt.Errorf("-against %s: not a revision", rev)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	archive := exec.CommandContext(ctx, "git", "-C", root, "archive", "--format=tar", rev)
	var tarball, stderr bytes.Buffer
	archive.Stdout, archive.Stderr = &tarball, &stderr
	if err := archive.Run(); err != nil {
		return "", fmt.Errorf("-against %s: git archive: %v: %s", rev, err, strings.TrimSpace(stderr.String()))
	}
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	untar.Stdin = &tarball
	if out, err := untar.CombinedOutput(); err != nil {
		return "", fmt.Errorf("-against %s: tar: %v: %s", rev, err, out)
	}
	bin := filepath.Join(dir, "echoserver")
	args := append(append([]string{"build", "-C", filepath.Join(dir, "bench"), "-o", bin}, flags...), "./echoserver")
	if out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("-against %s: go build bench/echoserver: %v\n%s", rev, err, out)
	}
	return bin, nil
}
