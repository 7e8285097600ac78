-- GET /users/{random id} with `If-None-Match: <its current ETag>`: a client
-- revalidating what it has cached, answered 304 without a body.
-- Argument: a file of `id etag` lines (benches/ab.py writes it).
local gets = {}

init = function(args)
  for line in io.lines(args[1]) do
    local id, tag = line:match("^(%S+)%s+(.+)$")
    gets[#gets + 1] = wrk.format("GET", "/users/" .. id, { ["If-None-Match"] = tag })
  end
  math.randomseed(os.time())
end

request = function()
  return gets[math.random(#gets)]
end
