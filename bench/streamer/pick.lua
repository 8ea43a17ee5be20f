-- wrk script of bench/streamer: every request is a GET of a path drawn at
-- random from a list file, one path a line (query string included), e.g.
--
--   wrk -t2 -c64 -d10s --latency -s pick.lua http://127.0.0.1:8080 -- segments.txt
--
-- Each wrk thread seeds its generator with its own number, so every run
-- sends the same sequence of paths: nginx and the streamer get the same load.
-- Requests are formatted once in init, so the script costs next to nothing
-- per request; there is no response() callback, which would slow wrk down.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local requests = {}

function init(args)
  local list = args[1]
  if list == nil then
    error("pick.lua: give the list file after --")
  end
  local f = assert(io.open(list, "r"))
  for line in f:lines() do
    if line ~= "" then
      requests[#requests + 1] = wrk.format("GET", line)
    end
  end
  f:close()
  if #requests == 0 then
    error("pick.lua: " .. list .. " lists no path")
  end
  math.randomseed(1000 + (thread_id or 0))
end

function request()
  return requests[math.random(#requests)]
end
