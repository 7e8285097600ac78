-- GET /users/{id} for a random id from the file named by the first argument.
local ids = {}
local threads = 0

setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

init = function(args)
  for line in io.lines(args[1]) do
    ids[#ids + 1] = line
  end
  math.randomseed(os.time() + tid * 7919)
end

request = function()
  return wrk.format("GET", "/users/" .. ids[math.random(#ids)])
end
