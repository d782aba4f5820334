-- Shared by the scenario scripts: one Lua state per wrk thread; setup() numbers the threads,
-- done() prints one JSON line the harness parses (latency in microseconds).
-- wrk starts each thread right after its setup(), so setup() must touch only the thread it is
-- given (setting a global in a running thread's Lua state corrupts it): the thread count comes
-- as the script's last argument instead (the harness appends it).
local M = {}
local counter = 0

function M.setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
end

function M.nthreads(args)
   return tonumber(args[#args])
end

function M.lines(path)
   local out = {}
   for line in io.lines(path) do
      if #line > 0 then table.insert(out, line) end
   end
   return out
end

function M.done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
      '"max_us": %d, "mean_us": %.1f, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
      summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end

return M
