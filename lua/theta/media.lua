-- theta.media: small test media made in memory, for the smoke run.
--
-- The seed's smoke script "generates local media test assets (no
-- third-party sample downloads)". A recipe cannot run ffmpeg or read
-- files it was not given, so the assets are made here:
--
--   media.png(w, h[, pixel])   a valid truecolour PNG (RFC 2083 /
--                              ISO 15948): zlib stream of stored deflate
--                              blocks (RFC 1950/1951), CRC-32 per chunk
--   media.wav{seconds, rate, freq}   16-bit mono PCM WAV with a tone
--   media.crc32(s), media.adler32(s)
--
-- Pure Lua 5.4 (integer bit operations, string.pack).
local _M = {}

local CRC_TABLE = {}
for n = 0, 255 do
  local c = n
  for _ = 1, 8 do
    if c & 1 == 1 then
      c = 0xEDB88320 ~ (c >> 1)
    else
      c = c >> 1
    end
  end
  CRC_TABLE[n] = c
end

-- crc32(s[, crc]) -> the CRC-32 (ISO 3309, as PNG and zip use it) of s,
-- continuing from a previous crc when given.
function _M.crc32(s, crc)
  local c = (crc or 0) ~ 0xFFFFFFFF
  for i = 1, #s do
    c = CRC_TABLE[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8)
  end
  return c ~ 0xFFFFFFFF
end

-- adler32(s) -> the Adler-32 checksum of s (RFC 1950 8.2).
function _M.adler32(s)
  local a, b = 1, 0
  local i, n = 1, #s
  while i <= n do
    -- 3800 bytes keep both sums far below 2^63 before the modulo
    local stop = math.min(n, i + 3799)
    for k = i, stop do
      a = a + s:byte(k)
      b = b + a
    end
    a, b = a % 65521, b % 65521
    i = stop + 1
  end
  return (b << 16) | a
end

-- deflate_stored(data) -> a zlib stream holding data in stored
-- (uncompressed) deflate blocks of at most 65535 bytes.
function _M.zlib_stored(data)
  local out = { "\x78\x01" }    -- CM 8, CINFO 7, FCHECK: 0x7801 % 31 == 0
  local n, pos = #data, 1
  repeat
    local len = math.min(65535, n - pos + 1)
    local final = pos + len > n and 1 or 0
    out[#out + 1] = string.pack("<BI2I2", final, len, len ~ 0xFFFF)
    out[#out + 1] = data:sub(pos, pos + len - 1)
    pos = pos + len
  until pos > n
  out[#out + 1] = string.pack(">I4", _M.adler32(data))
  return table.concat(out)
end

local function chunk(kind, data)
  return string.pack(">I4", #data) .. kind .. data ..
         string.pack(">I4", _M.crc32(kind .. data))
end

_M.PNG_SIGNATURE = "\137PNG\r\n\26\n"

-- The default picture: a red square and a blue disc on white, simple
-- shapes a captioning or detection model can name.
local function default_pixel(x, y, w, h)
  local cx, cy, r = w * 0.7, h * 0.65, math.min(w, h) * 0.2
  if (x - cx) ^ 2 + (y - cy) ^ 2 <= r * r then return 40, 80, 220 end
  if x >= w * 0.1 and x < w * 0.45 and y >= h * 0.1 and y < h * 0.45 then
    return 220, 30, 30
  end
  return 255, 255, 255
end

-- png(w, h[, pixel]) -> the bytes of a w x h 8-bit RGB PNG; pixel(x, y,
-- w, h) returns r, g, b (0..255) and defaults to the picture above.
function _M.png(w, h, pixel)
  w, h = math.tointeger(w), math.tointeger(h)
  if not w or not h or w < 1 or h < 1 or w > 4096 or h > 4096 then
    error("media.png: width and height must be whole numbers 1..4096", 2)
  end
  pixel = pixel or default_pixel
  local rows = {}
  for y = 0, h - 1 do
    local row = { "\0" }                      -- filter type 0 (None)
    for x = 0, w - 1 do
      local r, g, b = pixel(x, y, w, h)
      row[#row + 1] = string.char(r, g, b)
    end
    rows[#rows + 1] = table.concat(row)
  end
  local ihdr = string.pack(">I4I4BBBBB", w, h, 8, 2, 0, 0, 0)
  return _M.PNG_SIGNATURE .. chunk("IHDR", ihdr) ..
         chunk("IDAT", _M.zlib_stored(table.concat(rows))) ..
         chunk("IEND", "")
end

-- wav{seconds = 1, rate = 16000, freq = 440, amplitude = 0.3} -> the
-- bytes of a 16-bit mono PCM WAV holding a sine tone with short fades.
function _M.wav(opts)
  opts = opts or {}
  local seconds = opts.seconds or 1
  local rate = math.tointeger(opts.rate or 16000)
  local freq = opts.freq or 440
  local amp = opts.amplitude or 0.3
  if not rate or rate < 1000 or rate > 192000 or seconds <= 0 or
     seconds > 30 then
    error("media.wav: rate 1000..192000 Hz and 0 < seconds <= 30", 2)
  end
  local n = math.floor(seconds * rate)
  local fade = math.max(1, rate // 100)
  local samples = {}
  for i = 0, n - 1 do
    local env = math.min(1, i / fade, (n - 1 - i) / fade)
    local v = math.sin(2 * math.pi * freq * i / rate) * amp * env
    samples[#samples + 1] = string.pack("<i2", math.floor(v * 32767 + 0.5))
  end
  local data = table.concat(samples)
  return "RIFF" .. string.pack("<I4", 36 + #data) .. "WAVE" ..
         "fmt " .. string.pack("<I4I2I2I4I4I2I2", 16, 1, 1, rate,
                               rate * 2, 2, 16) ..
         "data" .. string.pack("<I4", #data) .. data
end

return _M
