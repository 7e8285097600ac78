-- POST /users with an email unique to this run, thread and request.
local counter = 0
local threads = 0
local run = "0"

setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

init = function(args)
  run = args[2] or args[1] or "0"
end

request = function()
  counter = counter + 1
  local body = string.format('{"email":"load-%s-%d-%d@example.com","name":"Load User %d"}',
    run, tid, counter, counter)
  return wrk.format("POST", "/users", { ["Content-Type"] = "application/json" }, body)
end
