-- wrk script: cycle over the requests listed in a file, one per line:
--   <path>[\t<Header>: <value>]...
-- Usage: wrk -t2 -c32 -d5s -s bench/cycle.lua http://127.0.0.1:PORT -- requests.txt
-- Each connection-thread starts at a different offset, so the threads do not walk in step.

local requests = {}
local index = 0

function init(args)
  for line in io.lines(args[1]) do
    local fields = {}
    for field in string.gmatch(line, "[^\t]+") do
      table.insert(fields, field)
    end
    local headers = {}
    for i = 2, #fields do
      local name, value = string.match(fields[i], "^([^:]+):%s*(.*)$")
      headers[name] = value
    end
    table.insert(requests, wrk.format("GET", fields[1], headers))
  end
  index = math.random(#requests)
end

function request()
  index = index % #requests + 1
  return requests[index]
end
