-- bust.lua: like status.lua (RESULT line with the count of 200, 429, 503 and other answers, and
-- the last other status seen), and every
-- request gets its own "&cb=<thread>-<n>" query parameter, so an edge cannot coalesce
-- concurrent identical requests into one transform: bench/run.sh images measures the CPU of
-- each image processed, not of one processing shared by 8 waiting connections. The URL given
-- to wrk must already have a query string.
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  c200, c429, c503, cother, n = 0, 0, 0, 0, 0
  last = 0
end

function request()
  n = n + 1
  return wrk.format(nil, wrk.path .. "&cb=" .. id .. "-" .. n)
end

function response(status, headers, body)
  if status == 200 then
    c200 = c200 + 1
  elseif status == 429 then
    c429 = c429 + 1
  elseif status == 503 then
    c503 = c503 + 1
  else
    cother = cother + 1
    last = status
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  local n200, n429, n503, nother, lastother = 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    n200 = n200 + t:get("c200")
    n429 = n429 + t:get("c429")
    n503 = n503 + t:get("c503")
    nother = nother + t:get("cother")
    if t:get("last") ~= 0 then lastother = t:get("last") end
  end
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d errors=%d status_errors=%d bytes=%d c200=%d c429=%d c503=%d cother=%d last_other=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status, summary.bytes, n200, n429, n503, nother, lastother))
end
