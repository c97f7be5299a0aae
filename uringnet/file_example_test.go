//go:build linux

package uringnet_test

import (
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/ourio-go/ourio/uringnet"
)

// A listener's File is how a server hands its socket to a new copy of
// itself: the old process passes it in os/exec's ExtraFiles (descriptor 3
// for the first), the new one adopts it with FileListener and serves, and
// the old one closes its listener and shuts down; connections that arrive
// meanwhile wait in the socket's queue for whichever accepts them. Here
// both ends are in one process.
func ExampleFileListener() {
	ln, err := uringnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	// File works on package net's listeners too, as Listen returns one
	// where io_uring is unavailable.
	f, err := ln.(interface{ File() (*os.File, error) }).File()
	if err != nil {
		fmt.Println(err)
		return
	}
	adopted, err := uringnet.FileListener(f) // in the new process: os.NewFile(3, "listener")
	f.Close()
	if err != nil {
		fmt.Println(err)
		return
	}
	ln.Close() // the old process stops accepting; the socket stays open
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello from the adopted listener")
	})}
	go srv.Serve(adopted)
	defer srv.Close()

	resp, err := http.Get("http://" + adopted.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	// Output: hello from the adopted listener
}
