-- GET /users/{random id} and POST /users with unique emails, mixed.
-- Arguments: the ids file (one id a line), a run tag that keeps emails
-- unique across runs, the percentage of requests that are POSTs
-- (0 = reads only, 100 = writes only, 10 = the 90/10 mix), and optionally
-- `keyed`: each POST then carries an Idempotency-Key of its own.
-- One ready-made GET request per id, built once in init: a request made
-- per call allocates a new string, and with a million distinct ids those
-- strings kept LuaJIT's collector busy enough to cut wrk's rate by ~15 % and
-- add pauses of tens of milliseconds to its p99 (measured against the bare
-- floor handler), so the 1M-user phases measured wrk, not the server.
local gets = {}
local counter = 0
local threads = 0
local run = "0"
local write_every = 0
local phase = "0"
local keyed = false

setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

init = function(args)
  for line in io.lines(args[1]) do
    gets[#gets + 1] = wrk.format("GET", "/users/" .. line)
  end
  run = args[2] or "0"
  phase = args[3] or "0"
  keyed = args[4] == "keyed"
  local percent = tonumber(phase)
  if percent > 0 then
    write_every = 100 / percent
  end
  math.randomseed(os.time() + tid * 7919)
end

-- The POST's headers: JSON, plus any given with wrk -H (an explicit table
-- replaces wrk.headers in wrk.format, so they are copied in).
local posting = nil
local function post_headers()
  if posting == nil then
    posting = { ["Content-Type"] = "application/json" }
    for name, value in pairs(wrk.headers) do
      posting[name] = value
    end
  end
  return posting
end

request = function()
  counter = counter + 1
  if write_every > 0 and counter % write_every < 1 then
    -- The percentage is in the email so phases of one run never collide.
    local body = string.format('{"email":"load-%s-%s-%d-%d@example.com","name":"Load User %d"}',
      run, phase, tid, counter, counter)
    local headers = post_headers()
    if keyed then
      headers["Idempotency-Key"] = string.format("load-%s-%s-%d-%d", run, phase, tid, counter)
    end
    return wrk.format("POST", "/users", headers, body)
  end
  return gets[math.random(#gets)]
end
