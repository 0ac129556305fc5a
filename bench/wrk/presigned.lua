-- wrk script for bench/webhook.py: POST pre-signed Stripe webhooks read from a file, each
-- exactly once ("once") or round and round ("cycle": duplicates of events already applied).
--
--   BENCH_WRK_POOL=requests.tsv BENCH_WRK_MODE=once|cycle BENCH_WRK_OUT=result.txt \
--     wrk -t1 -c16 -d10s -s bench/wrk/presigned.lua http://127.0.0.1:PORT/billing/webhook
--
-- The pool has one request a line, "<Stripe-Signature>\t<body>". Run with -t1: then the
-- requests sent are exactly the pool's first `sent` lines, which is how bench/webhook.py
-- knows which events to retry and what the balance must be. Writes to BENCH_WRK_OUT:
-- "key value" lines (sent, exhausted, duration_us, status N count, result R count, errors)
-- and one "acked EVENT_ID" line per 200 whose body named its event.

local pool = {}
local size = 0
local cursor = 0
local cycle = false

-- Read back by done() through thread:get (copied out of this thread's Lua state).
sent = 0
exhausted = 0
statuses = {}
results = {}
acked = {}

function init(args)
  cycle = os.getenv("BENCH_WRK_MODE") == "cycle"
  for line in io.lines(os.getenv("BENCH_WRK_POOL")) do
    local signature, body = line:match("^([^\t]+)\t(.*)$")
    size = size + 1
    -- Formatted once here, so the timed loop only hands out strings.
    pool[size] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["Stripe-Signature"] = signature,
    }, body)
  end
end

function request()
  if cursor >= size then
    if cycle then
      cursor = 0
    else
      -- Out of distinct events: stop rather than send one twice. The run is then too short
      -- to trust, and bench/webhook.py says so and sizes the next pool larger.
      exhausted = 1
      wrk.thread:stop()
      return wrk.format("GET", "/bench-pool-exhausted")
    end
  end
  cursor = cursor + 1
  sent = sent + 1
  return pool[cursor]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local result = body:match('"result":"([^"]+)"')
  if result then
    results[result] = (results[result] or 0) + 1
  end
  if status == 200 then
    local event_id = body:match('"event_id":"([^"]+)"')
    if event_id then
      acked[#acked + 1] = event_id
    end
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("BENCH_WRK_OUT"), "w"))
  out:write(string.format("duration_us %d\n", summary.duration))
  out:write(string.format("requests %d\n", summary.requests))
  for _, name in ipairs({ "connect", "read", "write", "status", "timeout" }) do
    out:write(string.format("error_%s %d\n", name, summary.errors[name]))
  end
  for _, thread in ipairs(threads) do
    out:write(string.format("sent %d\n", thread:get("sent")))
    out:write(string.format("exhausted %d\n", thread:get("exhausted")))
    for status, count in pairs(thread:get("statuses")) do
      out:write(string.format("status %d %d\n", status, count))
    end
    for result, count in pairs(thread:get("results")) do
      out:write(string.format("result %s %d\n", result, count))
    end
    for _, event_id in ipairs(thread:get("acked")) do
      out:write("acked " .. event_id .. "\n")
    end
  end
  out:close()
end
