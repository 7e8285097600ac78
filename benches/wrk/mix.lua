-- 90 % GET /users/{random id}, 10 % POST /users with a unique email.
-- Arguments: the ids file, then a run tag that keeps emails unique.
local ids = {}
local counter = 0
local threads = 0
local run = "0"

setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

init = function(args)
  for line in io.lines(args[1]) do
    ids[#ids + 1] = line
  end
  run = args[2] or "0"
  math.randomseed(os.time() + tid * 7919)
end

request = function()
  counter = counter + 1
  if counter % 10 == 0 then
    local body = string.format('{"email":"mix-%s-%d-%d@example.com","name":"Mix User %d"}',
      run, tid, counter, counter)
    return wrk.format("POST", "/users", { ["Content-Type"] = "application/json" }, body)
  end
  return wrk.format("GET", "/users/" .. ids[math.random(#ids)])
end
