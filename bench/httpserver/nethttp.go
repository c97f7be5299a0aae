package main

import (
	"net"
	"net/http"
)

// serveNetHTTP serves hello world with net/http, HTTP/1.1 and h2c alike.
// Unencrypted HTTP/2 comes from net/http's own Protocols setting, which
// replaced golang.org/x/net/http2/h2c (now deprecated); h2load's prior
// knowledge connections are what it serves.
func serveNetHTTP(ln net.Listener) error {
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write(hello)
		}),
		Protocols: &protos,
	}
	return srv.Serve(ln)
}
