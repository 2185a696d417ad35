-- sse_lua: events per second delivered into a Lua loop by sse.parser().
--
--   build/clawhost run bench/sse_lua.lua [--mb 100] [--rounds 3] --json
--
-- The second SSE figure of `make bench` (the first, build/bench/sse_bench,
-- is the C parser alone). Builds an SSE text of OpenAI-style chat chunks
-- in memory (the same chunk as bench/sse_bench.c, so the MB/s compare),
-- cuts it into 16 KiB pieces (about what a curl write callback hands
-- over; cut before timing, as pieces arrive as fresh strings), then
-- feeds them to sse.parser() and walks every event in a Lua loop,
-- touching ev.data as a consumer would. Reports the best round:
-- events/s and MB/s (MB = 10^6 bytes), timed with clock.monotonic().
local sse = require "sse"
local clock = require "clock"

local CHUNK = 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk",' ..
              '"choices":[{"index":0,"delta":{"content":"word "}}]}\n\n'
local DATA_LEN = #CHUNK - #"data: " - 2

local function pieces_of(text, size)
  local out = {}
  for off = 1, #text, size do
    out[#out + 1] = text:sub(off, off + size - 1)
  end
  return out
end

-- One pass: every piece through a fresh parser; returns seconds, events.
local function pass(pieces, want)
  local p = sse.parser()
  local n, bytes = 0, 0
  local t0 = clock.monotonic()
  for i = 1, #pieces do
    local evs = assert(p:feed(pieces[i]))
    for j = 1, #evs do
      local ev = evs[j]
      n = n + 1
      bytes = bytes + #ev.data
    end
  end
  local dropped = p:finish()
  local s = clock.monotonic() - t0
  assert(not dropped and n == want and bytes == want * DATA_LEN,
         "sse_lua: parse mismatch")
  return s, n
end

return {
  description = "Benchmark: SSE events per second into a Lua loop",
  params = {
    mb = { type = "integer", default = 100, min = 1, max = 1000,
           help = "size of the stream in MB (10^6 bytes)" },
    rounds = { type = "integer", default = 3, min = 1, max = 20,
               help = "passes; the best one counts" },
    piece = { type = "integer", default = 16384, min = 64,
              max = 1048576, help = "bytes per feed" },
  },
  run = function(ctx, args)
    local count = args.mb * 1000000 // #CHUNK
    local pieces = pieces_of(CHUNK:rep(count), args.piece)
    local best
    for _ = 1, args.rounds do
      local s = pass(pieces, count)
      if not best or s < best then best = s end
    end
    local bytes = count * #CHUNK
    return {
      events = count,
      mb = bytes / 1e6,
      piece = args.piece,
      rounds = args.rounds,
      seconds = best,
      events_per_s = math.floor(count / best),
      mb_per_s = math.floor(bytes / best / 1e6 + 0.5),
      summary = string.format("sse into Lua: %.0f events/s, %.0f MB/s " ..
                              "(%d events, %d-byte pieces)", count / best,
                              bytes / best / 1e6, count, args.piece),
    }
  end,
}
