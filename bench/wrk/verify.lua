-- POST /api/v1/verify with a random credential from CREDENTIALS_FILE (one per line).
local credentials = {}
for line in io.lines(os.getenv("CREDENTIALS_FILE")) do credentials[#credentials + 1] = line end
local token = os.getenv("DEVICE_TOKEN")
math.randomseed(os.time())

request = function()
  local body = '{"credential": "' .. credentials[math.random(#credentials)] .. '"}'
  return wrk.format("POST", "/api/v1/verify",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
