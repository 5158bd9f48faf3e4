-- paths.lua cycles each wrk thread over WRK_PATH_COUNT objects, WRK_PATH_PREFIX0 ..
-- WRK_PATH_PREFIX<count-1> (default /gen/q/0 .. /gen/q/999), and prints the same RESULT line as
-- report.lua for bench/run.sh.
local prefix = os.getenv("WRK_PATH_PREFIX") or "/gen/q/"
local count = tonumber(os.getenv("WRK_PATH_COUNT") or "1000")
local i = 0

request = function()
  i = (i + 1) % count
  return wrk.format("GET", prefix .. i)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d errors=%d status_errors=%d bytes=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status, summary.bytes))
end
