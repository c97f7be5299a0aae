package compat_test

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// rangeResult is what a ranged GET answered, without what differs from one
// response to the next (Date, the multipart boundary).
type rangeResult struct {
	Status       int
	ContentRange string
	ContentType  string // the media type only
	Length       int64
	Parts        []rangePart // one for a single range, one per part of multipart/byteranges
}

type rangePart struct {
	ContentRange string
	Sum          string // hex SHA-256
	Len          int
}

// TestFileServerRanges serves a 3 MiB file of random bytes with
// http.FileServer and asks for whole, single, open, suffix, multiple and
// unsatisfiable ranges, with and without If-Range: every body must equal the
// file's bytes at the ranges asked, and the responses over uringnet must
// equal package net's.
func TestFileServerRanges(t *testing.T) {
	const size = 3<<20 + 77
	dir := t.TempDir()
	file, _ := io.ReadAll(payload(31, size))
	path := filepath.Join(dir, "blob.bin")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	modTime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(path, modTime, modTime); err != nil {
		t.Fatal(err)
	}
	lastModified := modTime.Format(http.TimeFormat)
	const etag = `"ourio-blob-1"`
	fs := http.FileServer(http.Dir(dir))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeContent honours an ETag set before it runs, for If-Range.
		if r.URL.Query().Has("etag") {
			w.Header().Set("ETag", etag)
		}
		fs.ServeHTTP(w, r)
	})

	slice := func(from, to int) rangePart { // to is exclusive
		return rangePart{fmt.Sprintf("bytes %d-%d/%d", from, to-1, size), mustDigestOf(file[from:to]), to - from}
	}
	whole := rangeResult{200, "", "application/octet-stream", size, []rangePart{{"", mustDigestOf(file), size}}}
	single := func(from, to int) rangeResult {
		p := slice(from, to)
		return rangeResult{206, p.ContentRange, "application/octet-stream", int64(to - from), []rangePart{p}}
	}
	cases := []struct {
		name    string
		query   string
		headers map[string]string
		want    rangeResult
	}{
		{"whole", "", nil, whole},
		{"first-100", "", map[string]string{"Range": "bytes=0-99"}, single(0, 100)},
		{"middle-2MiB", "", map[string]string{"Range": "bytes=123456-2220607"}, single(123456, 2220608)},
		{"open-ended", "", map[string]string{"Range": "bytes=1000000-"}, single(1000000, size)},
		{"past-the-end", "", map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", size-10, size+1000)}, single(size-10, size)},
		{"suffix-500", "", map[string]string{"Range": "bytes=-500"}, single(size-500, size)},
		{"multi", "", map[string]string{"Range": "bytes=0-9,100000-199999,-50"},
			rangeResult{206, "", "multipart/byteranges", -2, []rangePart{slice(0, 10), slice(100000, 200000), slice(size-50, size)}}},
		{"if-range-date-match", "", map[string]string{"Range": "bytes=5-14", "If-Range": lastModified}, single(5, 15)},
		{"if-range-date-stale", "", map[string]string{"Range": "bytes=5-14", "If-Range": modTime.Add(-time.Hour).Format(http.TimeFormat)}, whole},
		{"if-range-etag-match", "?etag", map[string]string{"Range": "bytes=-1", "If-Range": etag}, single(size-1, size)},
		{"if-range-etag-other", "?etag", map[string]string{"Range": "bytes=-1", "If-Range": `"other"`}, whole},
		{"unsatisfiable", "", map[string]string{"Range": fmt.Sprintf("bytes=%d-", size)},
			rangeResult{416, fmt.Sprintf("bytes */%d", size), "text/plain", -2, nil}},
	}

	results := map[string][]rangeResult{}
	bothTransports(t, func(t *testing.T, tp transport) {
		ctx := testCtx(t)
		_, base := serveHTTP(t, tp, handler)
		client := httpClient(t, tp.dialer(t))
		for _, tc := range cases {
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/blob.bin"+tc.query, nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, body, err := do(t, client, req)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			got := summarize(t, resp, body)
			if tc.want.Length == -2 { // multipart's and 416's lengths are net/http's to choose
				got.Length = -2
			}
			if tc.want.Status == 416 {
				got.Parts = nil
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: got\n\t%+v\nwant\n\t%+v", tc.name, got, tc.want)
			}
			results[tp.name] = append(results[tp.name], summarize(t, resp, body))
		}
	})
	if n, u := results["net"], results["uringnet"]; len(n) == len(cases) && !reflect.DeepEqual(n, u) {
		for i := range n {
			if i < len(u) && !reflect.DeepEqual(n[i], u[i]) {
				t.Errorf("%s: package net answered %+v, uringnet %+v", cases[i].name, n[i], u[i])
			}
		}
	}
}

// summarize reduces a response to a rangeResult, splitting a
// multipart/byteranges body into its parts.
func summarize(t *testing.T, resp *http.Response, body []byte) rangeResult {
	t.Helper()
	mt, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	r := rangeResult{
		Status:       resp.StatusCode,
		ContentRange: resp.Header.Get("Content-Range"),
		ContentType:  mt,
		Length:       resp.ContentLength,
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("%s: Content-Length %d, body of %d bytes", resp.Request.Header.Get("Range"), resp.ContentLength, len(body))
	}
	if mt != "multipart/byteranges" {
		r.Parts = []rangePart{{r.ContentRange, mustDigestOf(body), len(body)}}
		return r
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("multipart body: %v", err)
			break
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Errorf("multipart part: %v", err)
			break
		}
		if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/octet-stream") {
			t.Errorf("multipart part of type %q, want application/octet-stream", ct)
		}
		r.Parts = append(r.Parts, rangePart{p.Header.Get("Content-Range"), mustDigestOf(b), len(b)})
	}
	return r
}
