-- theta_test.lua: the pure parts of lua/theta/ (no network).
--
-- Run by the host as a recipe (`clawhost run tests/lua/theta_test.lua
-- --json`, as tests/run_lua.sh does): the bundled catalog and live
-- service objects, categories and close names, cost estimates and the
-- settlement formula, the PNG and WAV generators (checked with an
-- independent reader below), the chat request plans, presigned-URL
-- shapes and smoke inputs. The network paths are in
-- tests/e2e/test_theta.py.

-- ---- an independent PNG / zlib / WAV reader --------------------------

-- CRC-32 bit by bit (no table), to check media.crc32 and the PNG.
local function crc32_slow(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do
    c = c ~ s:byte(i)
    for _ = 1, 8 do
      local mask = -(c & 1) & 0xFFFFFFFF
      c = (c >> 1) ~ (0xEDB88320 & mask)
    end
  end
  return c ~ 0xFFFFFFFF
end

local function adler_slow(s)
  local a, b = 1, 0
  for i = 1, #s do
    a = (a + s:byte(i)) % 65521
    b = (b + a) % 65521
  end
  return b * 65536 + a
end

-- Inflate a zlib stream made only of stored blocks; raises otherwise.
local function inflate_stored(z)
  local cmf, flg = z:byte(1), z:byte(2)
  assert(cmf & 0x0F == 8, "zlib: method is not deflate")
  assert((cmf * 256 + flg) % 31 == 0, "zlib: FCHECK")
  assert(flg & 0x20 == 0, "zlib: preset dictionary")
  local pos, out = 3, {}
  while true do
    local head = z:byte(pos)
    assert(head & 0x06 == 0, "deflate: not a stored block")
    local len, nlen = string.unpack("<I2I2", z, pos + 1)
    assert(len ~ 0xFFFF == nlen, "deflate: LEN/NLEN mismatch")
    out[#out + 1] = z:sub(pos + 5, pos + 4 + len)
    pos = pos + 5 + len
    if head & 1 == 1 then break end
  end
  local data = table.concat(out)
  local adler = string.unpack(">I4", z, pos)
  assert(adler == adler_slow(data), "zlib: Adler-32 mismatch")
  assert(pos + 4 == #z + 1, "zlib: bytes after the checksum")
  return data
end

-- Parse a PNG: checks signature, chunk CRCs and order; returns
-- {width, height, depth, color, pixels = raw rows}.
local function read_png(s)
  assert(s:sub(1, 8) == "\137PNG\r\n\26\n", "PNG signature")
  local pos, chunks, idat = 9, {}, {}
  local info
  while pos <= #s do
    local len = string.unpack(">I4", s, pos)
    local kind = s:sub(pos + 4, pos + 7)
    local data = s:sub(pos + 8, pos + 7 + len)
    local crc = string.unpack(">I4", s, pos + 8 + len)
    assert(crc == crc32_slow(kind .. data), "CRC of " .. kind)
    chunks[#chunks + 1] = kind
    if kind == "IHDR" then
      local w, h, depth, color, comp, filter, inter =
        string.unpack(">I4I4BBBBB", data)
      assert(comp == 0 and filter == 0 and inter == 0, "IHDR methods")
      info = { width = w, height = h, depth = depth, color = color }
    elseif kind == "IDAT" then
      idat[#idat + 1] = data
    end
    pos = pos + 12 + len
  end
  assert(chunks[1] == "IHDR" and chunks[#chunks] == "IEND", "chunk order")
  info.pixels = inflate_stored(table.concat(idat))
  return info
end

local function pixel(info, x, y)
  local stride = 1 + 3 * info.width
  local row = y * stride
  assert(info.pixels:byte(row + 1) == 0, "filter byte of row " .. y)
  local i = row + 2 + 3 * x
  return info.pixels:byte(i, i + 2)
end

local function read_wav(s)
  assert(s:sub(1, 4) == "RIFF" and s:sub(9, 12) == "WAVE", "RIFF/WAVE")
  assert(string.unpack("<I4", s, 5) == #s - 8, "RIFF size")
  assert(s:sub(13, 16) == "fmt ", "fmt chunk")
  local size, fmt, ch, rate, byte_rate, align, bits =
    string.unpack("<I4I2I2I4I4I2I2", s, 17)
  assert(size == 16, "fmt size")
  assert(s:sub(37, 40) == "data", "data chunk")
  local dlen = string.unpack("<I4", s, 41)
  assert(dlen == #s - 44, "data size")
  return { format = fmt, channels = ch, rate = rate, byte_rate = byte_rate,
           align = align, bits = bits, samples = dlen // align,
           data_offset = 45 }
end

-- ---- cases ------------------------------------------------------------

local function cases(t, suite)
  local eq, ok, raises = t.eq, t.ok, t.raises
  local catalog = require "theta.catalog"
  local pricing = require "theta.pricing"
  local media = require "theta.media"
  local chat = require "theta.chat"
  local od = require "theta.ondemand"
  local smoke = require "theta.smoke"
  local json = require "json"

  -- catalog --------------------------------------------------------------

  suite:case("bundled catalog: the seed's aliases and defaults", function()
    local idx = catalog.index(catalog.bundled())
    for _, a in ipairs { "qwen3", "gpt_oss_120b", "llama_3_1_70b", "flux",
                         "stable_diffusion_xl_turbo", "grounding_dino",
                         "blip", "llava", "whisper", "minimax_m2_5",
                         "llama_3_8b", "step_video", "esrgan",
                         "voice_cloning", "instant_id", "talking_head" } do
      ok(idx[a], "bundled " .. a)
      ok(idx[a].price and idx[a].price.divisor > 0, "price of " .. a)
    end
    eq(idx.qwen3.prediction, "completions")
    eq(idx.qwen3.variants, { "default", "parallax_32b_fp8" })
    eq(idx.grounding_dino.prediction, "0")
    eq(idx.grounding_dino.inputs, { "input_img", "detection_prompt" })
    eq(idx.whisper.prediction, "stt")
    eq(idx.whisper.files, { "audio_filename" })
    eq(idx.llava.inputs, { "input_img", "question" })
    eq(idx.flux.prediction, "generate_image")
    eq(idx.gpt_oss_120b.max_tokens, 1800)
    eq(idx.gpt_oss_120b.reasoning_effort, "low")
    ok(idx.step_video.stale and idx.esrgan.stale, "stale aliases flagged")
    ok(not idx.qwen3.stale, "qwen3 is live")
    -- prices from reference section 7, in cents
    eq({ idx.qwen3.price.input, idx.qwen3.price.output,
         idx.qwen3.price.divisor }, { 20, 40, 1000000 })
    eq({ idx.gpt_oss_120b.price.input, idx.gpt_oss_120b.price.output },
       { 4, 20 })
    eq({ idx.glm_5_2.price.input, idx.glm_5_2.price.output }, { 154, 484 })
    eq(idx.minimax_m2_5.price.output, 120)
    eq(idx.instant_id.price.output, 24)
    eq(idx.step_video.price.output, 20)
    eq(idx.esrgan.price.output, 2)
    eq(idx.flux.price.divisor, 1)
  end)

  suite:case("bundled() returns copies", function()
    local a = catalog.bundled()
    a[1].alias = "changed"
    eq(catalog.bundled()[1].alias, "qwen3")
    eq(catalog.bundled_entry("nope"), nil)
  end)

  suite:case("categories: client-side, from alias and name", function()
    local want = {
      qwen3 = "text", gpt_oss_120b = "text", llama_3_1_70b = "text",
      glm_5_3_flash = "text", minimax_m2_5 = "text",
      flux = "image", stable_diffusion_xl_turbo = "image",
      esrgan = "image", instant_id = "image",
      blip = "vision", grounding_dino = "vision", llava = "vision",
      whisper = "audio", voice_cloning = "audio", kokoro_82m = "audio",
      step_video = "video", talking_head = "video",
      image_to_image = "image", mystery_model = "other",
    }
    for alias, cat in pairs(want) do
      eq(catalog.category(alias), cat, alias)
    end
    for _, e in ipairs(catalog.bundled()) do
      eq(catalog.category(e), e.category, "bundled category of " .. e.alias)
    end
    eq(catalog.category({ alias = "new_llm_x", kind = "chat" }), "text")
  end)

  suite:case("category filter", function()
    local all = catalog.bundled()
    local vision = catalog.filter(all, "vision")
    eq(catalog.aliases(vision), { "blip", "grounding_dino", "llava" })
    eq(catalog.aliases(catalog.filter(all, "AUDIO")),
       { "voice_cloning", "whisper" })
    eq(catalog.aliases(catalog.filter(all, "video")),
       { "step_video", "talking_head" })
    eq(#catalog.filter(all, "other"), 0)
    eq(#catalog.filter(all, nil), #all, "no filter")
    raises(function() catalog.filter(all, "music") end,
           "unknown category 'music'")
  end)

  suite:case("close names", function()
    local names = catalog.aliases(catalog.bundled())
    eq(catalog.close_names("qwen", names)[1], "qwen3")
    eq(catalog.close_names("fluxx", names)[1], "flux")
    eq(catalog.close_names("gpt-oss-120b", names)[1], "gpt_oss_120b")
    eq(catalog.close_names("Whisper", names)[1], "whisper")
    eq(catalog.close_names("blipp", names)[1], "blip")
    eq(catalog.close_names("grounding-dino", names)[1], "grounding_dino")
    local llama = catalog.close_names("llama", names)
    ok(#llama >= 2 and llama[1]:find("^llama"), "llama -> llama_*")
    eq(catalog.close_names("zzzzzzzzzz", names), {})
    eq(#catalog.close_names("a", names, 3) <= 3, true)
    eq(catalog.distance("kitten", "sitting"), 3)
    eq(catalog.distance("", "abc"), 3)
    raises(function() catalog.close_names(nil, names) end, "typed")
  end)

  suite:case("a live service object becomes an entry", function()
    local live = json.decode([[{
      "id": "srvc_x", "name": "Qwen3 32B", "alias": "qwen3",
      "state": "public", "default_prediction": "completions",
      "predictions": {"completions": {
        "instructions": "{\"input\": \"1M input tokens\"}",
        "cost": {"input": 21, "output": 42}, "cost_divisor": 1000000,
        "variants": ["default", "parallax_32b_fp8"],
        "input_vars": {
          "messages": {"type": "chat_array", "required": true, "index": 0},
          "max_tokens": {"type": "integer", "default": 500, "index": 1}},
        "context_length": 131072}}}]])
    local e = catalog.from_live(live)
    eq(e.alias, "qwen3")
    eq(e.kind, "chat")
    eq(e.inputs, { "messages" })
    eq(e.price, { input = 21, output = 42, divisor = 1000000,
                  unit = "1M tokens" })
    eq(e.max_tokens, 500)
    eq(e.category, "text")
    local dino = catalog.from_live(json.decode([[{
      "alias": "grounding_dino", "name": "Grounding DINO",
      "default_prediction": "0", "predictions": {"0": {
        "instructions": "{\"output\": \"image\"}",
        "cost": {"input": 0, "output": 1}, "cost_divisor": 1,
        "variants": [],
        "input_vars": {
          "detection_prompt": {"type": "string", "required": true,
                               "index": 1},
          "input_img": {"type": "filename", "required": true, "index": 0},
          "box_threshold": {"type": "float", "index": 2}}}}}]]))
    eq(dino.prediction, "0")
    eq(dino.inputs, { "input_img", "detection_prompt" }, "index order")
    eq(dino.files, { "input_img" })
    eq(dino.kind, "unit")
    eq(dino.price.unit, "image")
    -- gpt_oss: our runtime default max_tokens wins over the API's 4096
    local gpt = catalog.from_live(json.decode([[{"alias": "gpt_oss_120b",
      "default_prediction": "completions", "predictions": {"completions":
      {"cost": {"input": 4, "output": 20}, "cost_divisor": 1000000,
       "input_vars": {"messages": {"type": "chat_array", "required": true},
       "max_tokens": {"type": "integer", "default": 4096}}}}}]]))
    eq(gpt.max_tokens, 1800)
    eq(gpt.openai, true)
    -- missing prices fall back to the bundled ones; junk is nil
    local flux = catalog.from_live({ alias = "flux" })
    eq(flux.price.output, 1)
    eq(catalog.from_live({ name = "no alias" }), nil)
    eq(catalog.from_live("x"), nil)
  end)

  -- pricing --------------------------------------------------------------

  suite:case("settlement formula: usage x cost / divisor / 100", function()
    local qwen = { input = 20, output = 40, divisor = 1000000 }
    -- 13 in + 24 out tokens: (260 + 960) / 1e6 / 100 = 0.0000122 USD
    eq(pricing.cost_nano({ input = 13, output = 24 }, qwen), 12200)
    eq(pricing.cost_nano({ prompt_tokens = 13, completion_tokens = 24 },
                         qwen), 12200)
    -- GLM-5.2, 52 in / 207 out (reference 2.4)
    eq(pricing.cost_nano({ input = 52, output = 207 },
                         { input = 154, output = 484, divisor = 1000000 }),
       1081960)
    -- one image at 1 cent = 0.01 USD
    eq(pricing.cost_nano({ input = 0, output = 1 },
                         { input = 0, output = 1, divisor = 1 }), 10000000)
    -- 257 tokens at 40 cents per 1M: exactly 102 800 nano-USD
    eq(pricing.cost_nano({ input = 0, output = 257 }, qwen), 102800)
    -- rounding up to a whole nano-USD, never down
    eq(pricing.cost_nano({ input = 1, output = 0 },
                         { input = 1, output = 0, divisor = 3 }), 3333334)
    eq(pricing.cost_nano({ input = 0, output = 0 }, qwen), 0)
    raises(function() pricing.cost_nano({}, qwen) end, "usage")
    raises(function() pricing.cost_nano({ input = 1 }, { input = 1 }) end,
           "price")
  end)

  suite:case("a job's cost ignores cost_usd", function()
    local job = json.decode([[{"usage": {"input": 13, "output": 257},
      "prediction_cost": {"input": 154, "output": 484},
      "prediction_cost_divisor": 1000000,
      "cost_usd": {"input": 0.00023716, "output": 0.00234256}}]])
    -- (13 x 154 + 257 x 484) / 1e6 / 100 = 0.00126390 USD
    eq(pricing.job_cost_nano(job), 1263900)
    eq(pricing.usd_string(pricing.job_cost_nano(job)), "0.0012639")
    eq(pricing.job_cost_nano({ usage = { input = 1, output = 1 } }), nil)
    eq(pricing.job_cost_nano(nil), nil)
  end)

  suite:case("worst-case estimates", function()
    local idx = catalog.index(catalog.bundled())
    local msgs = { { role = "user", content = "hello" } }
    -- 16 + 8 + #"user" + #"hello" = 33 tokens at most
    eq(pricing.estimate_prompt_tokens(msgs), 33)
    eq(pricing.estimate_prompt_tokens({ { role = "user", content = {
         { type = "text", text = "ab" }, { type = "text", text = "cd" } } } }),
       16 + 8 + 4 + 5)
    -- qwen3: 33 x 20 + 500 x 40 = 20660 cents-per-1M = 0.0002066 USD
    eq(pricing.worst_case_nano(idx.qwen3, { messages = msgs }), 206600)
    eq(pricing.worst_case_nano(idx.qwen3, { messages = msgs,
                                            max_tokens = 100 }), 46600)
    -- gpt_oss: its own default max_tokens 1800
    eq(pricing.worst_case_nano(idx.gpt_oss_120b, { messages = msgs }),
       (33 * 4 + 1800 * 20) * 10)
    eq(pricing.worst_case_nano(idx.flux), 10000000)
    eq(pricing.worst_case_nano(idx.instant_id), 240000000)
    eq(pricing.worst_case_nano(idx.step_video), 200000000)
    -- the estimate is an upper bound of the simulator's (and any
    -- byte-level tokenizer's) count
    local long = string.rep("naïve café ", 40)
    local est = pricing.estimate_prompt_tokens({ { role = "user",
                                                   content = long } })
    ok(est >= 3 + 4 + math.ceil(#long / 4), "upper bound")
    raises(function() pricing.worst_case_nano(nil) end, "catalog entry")
  end)

  suite:case("USD strings are the ledger's canonical form", function()
    eq(pricing.usd_string(0), "0.00")
    eq(pricing.usd_string(2000000000), "2.00")
    eq(pricing.usd_string(102800), "0.0001028")
    eq(pricing.usd_string(10000000), "0.01")
    eq(pricing.usd_string(1), "0.000000001")
    eq(pricing.usd_string(1234567891), "1.234567891")
    eq(pricing.nano(0.0001028), 102800)
    eq(pricing.nano(2), 2000000000)
    eq(pricing.nano(0.0000000011), 2, "rounds up")
    raises(function() pricing.usd_string(-1) end, "whole number")
    raises(function() pricing.nano(-1) end, "USD")
    eq(pricing.describe({ input = 20, output = 40, divisor = 1000000,
                          unit = "1M tokens" }),
       "$0.20 / $0.40 per 1M tokens (in / out)")
    eq(pricing.describe({ input = 0, output = 1, divisor = 1,
                          unit = "image" }), "$0.01 per image")
  end)

  -- media ----------------------------------------------------------------

  suite:case("CRC-32 and Adler-32 known values", function()
    eq(media.crc32("123456789"), 0xCBF43926)
    eq(media.crc32(""), 0)
    eq(media.crc32("The quick brown fox jumps over the lazy dog"),
       0x414FA339)
    eq(media.crc32("6789", media.crc32("12345")), 0xCBF43926, "continued")
    eq(media.adler32("Wikipedia"), 0x11E60398)
    eq(media.adler32(""), 1)
    local big = string.rep("\255", 100000)
    eq(media.adler32(big), adler_slow(big), "large input")
    eq(media.crc32(big), crc32_slow(big), "large input crc")
  end)

  suite:case("PNG: signature, chunk CRCs, stored deflate, pixels", function()
    local png = media.png(64, 64)
    local info = read_png(png)
    eq({ info.width, info.height, info.depth, info.color },
       { 64, 64, 8, 2 })
    eq(#info.pixels, 64 * (1 + 3 * 64))
    eq({ pixel(info, 10, 10) }, { 220, 30, 30 }, "red square")
    eq({ pixel(info, 44, 41) }, { 40, 80, 220 }, "blue disc")
    eq({ pixel(info, 63, 0) }, { 255, 255, 255 }, "white")
    -- over 65535 bytes of pixels: several stored blocks
    local large = media.png(200, 120, function() return 1, 2, 3 end)
    local li = read_png(large)
    eq(#li.pixels, 120 * (1 + 600))
    eq({ pixel(li, 199, 119) }, { 1, 2, 3 })
    local one = read_png(media.png(1, 1))
    eq(#one.pixels, 4)
    raises(function() media.png(0, 5) end, "1..4096")
    raises(function() media.png(1.5, 5) end, "whole numbers")
  end)

  suite:case("zlib stored stream edge cases", function()
    eq(inflate_stored(media.zlib_stored("")), "")
    local exact = string.rep("x", 65535)
    eq(inflate_stored(media.zlib_stored(exact)), exact)
    local over = string.rep("y", 65536)
    eq(inflate_stored(media.zlib_stored(over)), over)
  end)

  suite:case("WAV: RIFF header, PCM 16-bit mono, samples", function()
    local wav = media.wav { seconds = 0.5, rate = 16000, freq = 440 }
    local w = read_wav(wav)
    eq(w.format, 1, "PCM")
    eq(w.channels, 1)
    eq(w.rate, 16000)
    eq(w.byte_rate, 32000)
    eq(w.align, 2)
    eq(w.bits, 16)
    eq(w.samples, 8000)
    -- faded in: the first sample is silent; something is audible later
    eq(string.unpack("<i2", wav, w.data_offset), 0)
    local loud = 0
    for i = 0, 199 do
      local v = string.unpack("<i2", wav, w.data_offset + 2 * (4000 + i))
      if math.abs(v) > loud then loud = math.abs(v) end
    end
    ok(loud > 5000 and loud <= 32767, "a tone is there")
    eq(read_wav(media.wav()).samples, 16000, "default 1 s at 16 kHz")
    raises(function() media.wav { seconds = 0 } end, "seconds")
  end)

  -- chat plans -----------------------------------------------------------

  suite:case("qwen3: job path, stream, wait 60, parallax variant", function()
    local idx = catalog.index(catalog.bundled())
    local p = chat.plan(idx.qwen3, { message = "hi", system = "be brief" })
    eq(p.openai, nil)
    eq(p.path, "/infer_request/qwen3")
    eq(p.query, { wait = 60, prediction = "completions" })
    eq(p.body.variant, "parallax_32b_fp8")
    eq(p.body.input.stream, true)
    eq(p.stream, true)
    eq(p.body.input.max_tokens, 500)
    eq(p.body.input.messages, { { role = "system", content = "be brief" },
                                { role = "user", content = "hi" } })
    eq(p.body.model, nil)
    local q = chat.plan(idx.qwen3, { message = "hi", stream = false,
                                     max_tokens = 64, variant = "default" })
    eq(q.body.input.stream, false)
    eq(q.body.variant, "default")
    eq(q.max_tokens, 64)
  end)

  suite:case("gpt_oss_120b: OpenAI body, 1800 tokens, effort low", function()
    local idx = catalog.index(catalog.bundled())
    local p = chat.plan(idx.gpt_oss_120b, { message = "hi" })
    eq(p.openai, true)
    eq(p.path, "/infer_request/chat/completions")
    eq(p.query, nil)
    eq(p.body.model, "gpt_oss_120b")
    eq(p.body.max_tokens, 1800)
    eq(p.body.reasoning_effort, "low")
    eq(p.body.stream, false, "library default: no stream but qwen3")
    eq(p.body.input, nil)
    local s = chat.plan(idx.gpt_oss_120b, { message = "hi", stream = true,
                                            reasoning_effort = "high" })
    eq(s.body.stream_options, { include_usage = true })
    eq(s.body.reasoning_effort, "high")
  end)

  suite:case("chat arguments are checked", function()
    local e = catalog.bundled_entry("qwen3")
    raises(function() chat.plan(e, {}) end, "give message")
    raises(function() chat.plan(e, { messages = {} }) end, "non-empty")
    raises(function() chat.plan(e, { messages = { { role = "user" } } }) end,
           "content")
    raises(function() chat.plan(e, { messages = { { content = "x" } } }) end,
           "role")
    raises(function() chat.plan(e, { message = "x", max_tokens = 0 }) end,
           "max_tokens")
    raises(function() chat.plan(e, { message = "x", max_tokens = 1.5 }) end,
           "max_tokens")
    raises(function() chat.plan(e, { message = "x", temperature = 3 }) end,
           "temperature")
    raises(function() chat.plan(e, { message = "x", wait = 61 }) end, "wait")
    raises(function()
      chat.plan(e, { message = "x", reasoning_effort = "huge" })
    end, "reasoning_effort")
  end)

  -- presigned URLs, smoke inputs ------------------------------------------

  suite:case("presigned URLs: both response shapes", function()
    local field = od.presigned(json.decode([[{"audio_filename":
      {"presigned_url":
         "https://storage.googleapis.com/b/u1?X-Goog-Signature=x",
       "filename": "upload_1"}}]]))
    eq(field.audio_filename, { url = "https://storage.googleapis.com/b/u1" ..
                               "?X-Goog-Signature=x", filename = "upload_1" })
    local mcp = od.presigned(json.decode([[{"urls": {"input_img":
      {"upload_url": "https://storage.googleapis.com/b/u2",
       "filename": "f2"}}}]]))
    eq(mcp.input_img, { url = "https://storage.googleapis.com/b/u2",
                        filename = "f2" })
    local _, n = od.presigned(json.decode("{}"))
    eq(n, 0)
  end)

  suite:case("smoke: service lists and generated inputs", function()
    eq(smoke.parse_services("qwen3, flux,,blip flux"),
       { "qwen3", "flux", "blip" })
    eq(smoke.parse_services(smoke.DEFAULT_SERVICES),
       { "qwen3", "flux", "blip", "grounding_dino", "whisper" })
    raises(function() smoke.parse_services("qwen3,../etc") end,
           "not a service alias")
    raises(function() smoke.parse_services(" , ") end, "no services")
    local idx = catalog.index(catalog.bundled())
    local input, files = smoke.inputs_for(idx.grounding_dino)
    eq(input.detection_prompt, "square . circle")
    eq(files, { { field = "input_img", kind = "image" } })
    input, files = smoke.inputs_for(idx.whisper)
    eq(files, { { field = "audio_filename", kind = "audio" } })
    input, files = smoke.inputs_for(idx.flux)
    ok(input.prompt and #files == 0, "flux: a prompt")
    local none, why = smoke.inputs_for({ alias = "x", inputs = { "weird" } })
    eq(none, nil)
    ok(why:find("weird", 1, true), "says which input")
  end)
end

return {
  description = "Tests for lua/theta (catalog, pricing, media, plans)",
  run = function()
    local t = require("testlib")
    local suite = t.new("theta")
    cases(t, suite)
    return suite:done()
  end,
}
