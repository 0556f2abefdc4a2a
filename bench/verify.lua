-- wrk script: POST /v1/jwt-svid/verify, cycling through the tokens of the
-- file named by the TOKENS environment variable, one token per line.
local tokens = {}
local next_index = 1

local path = os.getenv("TOKENS")
for line in io.lines(path) do
    if #line > 0 then
        tokens[#tokens + 1] = line
    end
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
    local token = tokens[next_index]
    next_index = next_index % #tokens + 1
    return wrk.format(nil, "/v1/jwt-svid/verify", nil, '{"token":"' .. token .. '"}')
end

local failures = 0
response = function(status, headers, body)
    if status ~= 200 or not string.find(body, '"valid":true', 1, true) then
        failures = failures + 1
    end
end

done = function(summary, latency, requests)
    io.write(string.format("not valid or not 200: %d\n", failures))
end
