-- wrk script: POSTs one GraphQL request body over and over, checks every answer, and prints
-- the run's figures as one JSON line. Used by loadtests/wrk.py:
--
--   wrk -t1 -c16 -d5s -H 'content-type: application/json' -s graphql.lua URL -- BODY_FILE
--
-- An answer counts as good only with status 200, a body holding "data" and no "errors" key;
-- the first bad answer is kept (cut to 300 bytes) so the bench can say what went wrong.
-- The last line printed is:
--   WRK_RESULT {"requests": N, "duration_us": D, "p50_us": .., "p99_us": .., "bad_status": ..,
--               "graphql_errors": .., "socket_errors": .., "first_bad": "..."}

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1]
  if path == nil then
    io.stderr:write("graphql.lua: pass the request body's file after --\n")
    os.exit(2)
  end
  local file = io.open(path, "rb")
  if file == nil then
    io.stderr:write("graphql.lua: cannot read " .. path .. "\n")
    os.exit(2)
  end
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  bad_status = 0
  graphql_errors = 0
  first_bad = ""
end

function response(status, headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
  elseif body:find('"errors"', 1, true) or not body:find('"data"', 1, true) then
    graphql_errors = graphql_errors + 1
  else
    return
  end
  if first_bad == "" then
    first_bad = "HTTP " .. status .. " " .. body:sub(1, 300)
  end
end

local function quote(text)
  text = text:gsub('[%c"\\]', function(c)
    if c == '"' or c == "\\" then
      return "\\" .. c
    end
    return string.format("\\u%04x", c:byte())
  end)
  return '"' .. text .. '"'
end

function done(summary, latency, requests)
  local bad, errors, first = 0, 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("bad_status")
    errors = errors + thread:get("graphql_errors")
    if first == "" then
      first = thread:get("first_bad")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"bad_status": %d, "graphql_errors": %d, "socket_errors": %d, "first_bad": %s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bad, errors, e.connect + e.read + e.write + e.timeout, quote(first)
  ))
end
