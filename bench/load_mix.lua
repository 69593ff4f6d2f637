-- One kind of request of the load run (bench/bench_load.py), for one wrk process.
--
-- wrk ... -s load_mix.lua URL -- SPEC DEADLINE OUT THREADS [PATHS]
--   SPEC      request template: line 1 the method, line 2 the path, line 3 the body (may be empty),
--             then "Name: value" header lines; "{n}" in path or body becomes "<thread>-<count>",
--             so every request of the run is a different one (a new address, a new lead).
--   DEADLINE  Unix time after which no request is started: each connection then waits until wrk's
--             own -d ends, so every request sent is answered before wrk stops and can be counted.
--   OUT       where done() writes the number of requests sent and the latency quantiles.
--   THREADS   wrk's -t, so each thread knows its share of PATHS.
--   PATHS     optional file of paths, each used once (signed tracking links): thread k of n takes
--             lines k, k+n, k+2n… Past the end it asks for /exhausted/, a 404 counted as an error.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  spec, deadline, out, sent = {}, tonumber(args[2]), args[3], 0
  for line in io.lines(args[1]) do table.insert(spec, line) end
  method, path, body, headers = spec[1], spec[2], spec[3], {}
  if body == "" then body = nil end
  for k = 4, #spec do
    local name, value = spec[k]:match("^([^:]+):%s*(.*)$")
    if name then headers[name] = value end
  end
  if args[5] then
    local n, k = tonumber(args[4]), 0
    paths = {}
    for line in io.lines(args[5]) do
      if k % n == id - 1 then table.insert(paths, line) end
      k = k + 1
    end
  end
end

function delay()
  if os.time() >= deadline then return 3600 * 1000 end
  return 0
end

function request()
  sent = sent + 1
  local n = id .. "-" .. sent
  if paths then
    return wrk.format(method, paths[sent] or "/exhausted/", headers, body)
  end
  local b = body and body:gsub("{n}", n) or nil
  return wrk.format(method, (path:gsub("{n}", n)), headers, b)
end

function done(summary, latency, requests)
  -- wrk calls request() once more before starting, on thread 1, to check the script: that one is never sent.
  local total = -1
  for _, thread in ipairs(threads) do total = total + thread:get("sent") end
  local f = io.open(threads[1]:get("out"), "w")
  f:write("sent ", total, "\n")
  f:write("answered ", summary.requests, "\n")
  local e = summary.errors
  f:write("errors ", e.connect + e.read + e.write + e.status + e.timeout, "\n")
  for k = 1, 999 do
    f:write("q ", k / 10, " ", latency:percentile(k / 10), "\n")
  end
  for _, p in ipairs({99.95, 99.99}) do
    f:write("q ", p, " ", latency:percentile(p), "\n")
  end
  f:write("q 100 ", latency.max, "\n")  -- percentile(100) is past wrk's last rank
  f:close()
end
