-- paced.lua: like report.lua, but every connection waits 1 ms after each response, so the
-- load is bounded (64 connections: at most 64 000 requests/s) instead of saturating the CPUs
-- wrk shares with the server. This compares latency at similar request rates.
function delay()
  return 1
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d errors=%d status_errors=%d bytes=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status, summary.bytes))
end
