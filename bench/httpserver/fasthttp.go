package main

import (
	"net"

	"github.com/valyala/fasthttp"
)

// serveFastHTTP serves hello world with fasthttp, which reuses its request
// and response objects per connection instead of allocating them per
// request: the user-space cost net/http pays on top of the transport.
func serveFastHTTP(ln net.Listener) error {
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("text/plain")
			ctx.Write(hello)
		},
		Name: "httpserver",
	}
	return srv.Serve(ln)
}
