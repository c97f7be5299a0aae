package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/ourio-go/ourio/uringnet"
)

// TestServers fetches hello world from each server on each listener over
// HTTP/1.1, and over h2c from net/http, the combinations the bench command
// drives with wrk and h2load.
func TestServers(t *testing.T) {
	if err := uringnet.Available(); err != nil {
		t.Skip(err)
	}
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	clients := map[string]*http.Client{
		"HTTP/1.1": {Transport: &http.Transport{}},
		"HTTP/2.0": {Transport: &http.Transport{Protocols: &h2c}},
	}
	for _, server := range []string{"nethttp", "fasthttp"} {
		for _, listener := range []string{"net", "uringnet"} {
			ln, err := listen(listener, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go servers[server](ln)
			for proto, c := range clients {
				if server == "fasthttp" && proto == "HTTP/2.0" {
					continue // fasthttp speaks HTTP/1.1 only
				}
				resp, err := c.Get("http://" + ln.Addr().String() + "/")
				if err != nil {
					t.Fatalf("%s on %s, %s: %v", server, listener, proto, err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(body) != string(hello) || resp.StatusCode != 200 || resp.Proto != proto {
					t.Errorf("%s on %s: %s %d %q, %v; want %s 200 %q", server, listener, resp.Proto, resp.StatusCode, body, err, proto, hello)
				}
				c.CloseIdleConnections()
			}
			ln.Close()
		}
	}
}

func TestListenUnknown(t *testing.T) {
	if ln, err := listen("quic", "127.0.0.1:0"); err == nil {
		ln.Close()
		t.Fatal("listen accepted an unknown listener")
	}
}
