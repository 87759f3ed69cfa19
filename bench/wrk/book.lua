-- POST /api/v1/bookings: random credential, 1 EUR, a fresh Idempotency-Key per request.
local credentials = {}
for line in io.lines(os.getenv("CREDENTIALS_FILE")) do credentials[#credentials + 1] = line end
local token = os.getenv("DEVICE_TOKEN")
local run = os.getenv("RUN_ID") or "" -- one per wrk run: no key of an earlier run again
local counter = 0
local thread_id = 0
local statuses = {}

setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

init = function(args)
  math.randomseed(os.time() + tid)
end

request = function()
  counter = counter + 1
  local body = '{"credential": "' .. credentials[math.random(#credentials)] ..
    '", "category": "trips", "amount_cents": 100}'
  return wrk.format("POST", "/api/v1/bookings",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token,
     ["Idempotency-Key"] = "wrk-" .. run .. "-" .. tid .. "-" .. counter}, body)
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  io.write("latency_us p50=" .. latency:percentile(50) .. " p99=" .. latency:percentile(99) .. "\n")
end
