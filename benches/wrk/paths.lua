-- GET of paths drawn in turn from a file (one path a line): a search term
-- or a sort per request, so no one cached page answers every request.
-- Argument: the paths file.
local requests = {}
local counter = 0

init = function(args)
  for line in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("GET", line)
  end
end

request = function()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end
