-- status.lua: like report.lua, plus the count of 200 and 429 answers (per thread, summed in
-- done), for the abusive client of bench/run.sh access. Counting costs wrk a little per response.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  c200, c429 = 0, 0
end

function response(status, headers, body)
  if status == 200 then
    c200 = c200 + 1
  elseif status == 429 then
    c429 = c429 + 1
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  local n200, n429 = 0, 0
  for _, t in ipairs(threads) do
    n200 = n200 + t:get("c200")
    n429 = n429 + t:get("c429")
  end
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d errors=%d status_errors=%d bytes=%d c200=%d c429=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status, summary.bytes, n200, n429))
end
