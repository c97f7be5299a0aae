// Package h3 is what bench/h3server serves over HTTP/3 with quic-go and what
// the bench command's h3 family checks it against: the paths, the small
// response, the deterministic download body, the packet conns the server
// runs on and its self-signed certificate.
package h3

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/ourio-go/ourio/bench/internal/pattern"
)

// The paths the server answers.
const (
	SmallPath     = "/small"     // Small, for requests per second
	BytesPath     = "/bytes"     // ?n=N: N bytes of the body pattern, for download throughput
	TransportPath = "/transport" // what the server's packet conn really is, as Listen described it
)

// Small is the response body of SmallPath.
var Small = []byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n")

// MaxBytes bounds n in BytesPath, so that a bad request cannot keep the
// server writing for good.
const MaxBytes = 1 << 30

// Handler serves the three paths; transport is TransportPath's answer.
func Handler(transport string) http.Handler {
	pat := pattern.Bytes()
	mux := http.NewServeMux()
	mux.HandleFunc(SmallPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(Small)
	})
	mux.HandleFunc(BytesPath, func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		if err != nil || n < 0 || n > MaxBytes {
			http.Error(w, fmt.Sprintf("n must be 0..%d", MaxBytes), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		for off := int64(0); off < n; {
			i := off % pattern.Period
			k := min(pattern.Period, n-off)
			if _, err := w.Write(pat[i : i+k]); err != nil {
				return // the client went away
			}
			off += k
		}
	})
	mux.HandleFunc(TransportPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(transport))
	})
	return mux
}

// SelfSigned makes a certificate for localhost and 127.0.0.1, valid for a
// day, so that the server needs no files; the client trusts it with
// tls.Config.InsecureSkipVerify (the benchmark measures transport, not
// PKI), or with a pool made from the returned leaf.
func SelfSigned() (tls.Certificate, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf, nil
}
