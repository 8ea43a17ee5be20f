package main

import (
	"testing"
	"time"
)

// What wrk 4.2 prints with --latency, here with errors.
const wrkOutput = `Running 10s test @ http://127.0.0.1:41213
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    19.01ms    7.85ms  98.43ms   76.01%
    Req/Sec     1.70k   166.41     2.09k    69.50%
  Latency Distribution
     50%   18.15ms
     75%   22.70ms
     90%   28.43ms
     99%   43.38ms
  33952 requests in 10.00s, 26.30GB read
  Socket errors: connect 55, read 0, write 0, timeout 2
  Non-2xx or 3xx responses: 3
Requests/sec:   3394.19
Transfer/sec:      2.63GB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	if r.requests != 33952 || r.rps != 3394.19 || r.p50 != 18150*time.Microsecond || r.p99 != 43380*time.Microsecond {
		t.Errorf("requests %d, rps %v, p50 %v, p99 %v; want 33952, 3394.19, 18.15ms, 43.38ms", r.requests, r.rps, r.p50, r.p99)
	}
	if r.errors != 60 || r.errKinds != "non-2xx 3, connect 55, timeout 2" {
		t.Errorf("errors %d (%q), want 60 (non-2xx 3, connect 55, timeout 2)", r.errors, r.errKinds)
	}
	if _, err := parseWrk("Running 10s test\n"); err == nil {
		t.Error("no figures parsed without an error")
	}
}
