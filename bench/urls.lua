-- wrk script for bench/run.sh: spreads requests over many target URLs and
-- counts what came back, so the script can check the database afterwards.
--
-- usage: wrk ... -s bench/urls.lua URL -- PATH NKEYS [MODE]
--   PATH   request path, e.g. /count/tag.svg
--   NKEYS  number of distinct targets: ?url=bench.example/p1 .. pNKEYS
--   MODE   "cycle" (default): each thread walks the keys in order from its
--          own offset, with requests built once in init();
--          "random": math.random key per request (for a million keys).
--
-- Each wrk thread has its own Lua state, so every thread keeps its own
-- tallies; done() (main state) collects them with thread:get().
-- Printed at the end, one line, parsed by run.sh:
--   BENCH requests=N duration_us=N rps=N p50_us=N p99_us=N ok2xx=N
--         non2xx=N sent=N unanswered=N socket_errors=N status_errors=N
--         connect_read_write_timeout=N/N/N/N

local threads = {}
local next_id = 0

function setup(thread)
   next_id = next_id + 1
   thread:set("id", next_id)
   table.insert(threads, thread)
end

-- Per-thread state (globals of the thread's Lua state).
sent = 0
ok2xx = 0
non2xx = 0

local path, nkeys, mode
local prebuilt, pos
local prefix, suffix

function init(args)
   path = args[1] or "/count/tag.svg"
   nkeys = tonumber(args[2] or "1000")
   mode = args[3] or "cycle"
   -- A desktop browser's User-Agent, as real visitors send (both servers
   -- get it, so the bytes compared stay the same).
   wrk.headers["User-Agent"] =
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
   -- Let wrk.format add the Host header, then cut around a marker.
   local template = wrk.format("GET", path .. "?url=bench.example/p@KEY@")
   local at = template:find("@KEY@", 1, true)
   prefix = template:sub(1, at - 1)
   suffix = template:sub(at + 5)
   if mode == "cycle" then
      prebuilt = {}
      for i = 1, nkeys do
         prebuilt[i] = prefix .. i .. suffix
      end
      -- Spread the threads' starting points over the keys.
      pos = ((id or 1) - 1) * math.floor(nkeys / 2)
   else
      math.randomseed(os.time() * 100 + (id or 1))
   end
end

function request()
   sent = sent + 1
   if prebuilt then
      pos = pos % nkeys + 1
      return prebuilt[pos]
   end
   return prefix .. math.random(1, nkeys) .. suffix
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok2xx = ok2xx + 1
   else
      non2xx = non2xx + 1
   end
end

function done(summary, latency, requests)
   local s, ok, bad = 0, 0, 0
   for _, t in ipairs(threads) do
      s = s + t:get("sent")
      ok = ok + t:get("ok2xx")
      bad = bad + t:get("non2xx")
   end
   local e = summary.errors
   local socket_errors = e.connect + e.read + e.write + e.timeout
   -- Cross-check: wrk's own tally of complete responses.
   if ok + bad ~= summary.requests then
      io.stderr:write(string.format("urls.lua: response() saw %d, wrk counted %d\n", ok + bad, summary.requests))
   end
   -- A request sent but not answered when wrk stopped: wrk abandons the
   -- connections in flight, but the server may still have served it.
   local unanswered = s - ok - bad
   io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.0f p50_us=%d p99_us=%d ok2xx=%d non2xx=%d sent=%d unanswered=%d socket_errors=%d status_errors=%d connect_read_write_timeout=%d/%d/%d/%d\n",
      summary.requests, summary.duration, summary.requests / summary.duration * 1e6,
      latency:percentile(50), latency:percentile(99), ok, bad, s, unanswered, socket_errors, e.status,
      e.connect, e.read, e.write, e.timeout))
end
