-- theta.video: the Theta Video API, https://api.thetavideoapi.com
-- (theta-api.md 5.1), on the shared client layer.
--
--   video.upload_create(ctx)            {id, presigned_url}
--   video.upload_put(ctx, url, bytes, label)   PUT the bytes there, with a
--                                       progress line; no credential goes
--                                       to the storage host
--   video.create(ctx, o)                the video: o.upload_id or
--                                       o.source_uri, playback_policy,
--                                       metadata
--   video.get(ctx, id)                  the video
--   video.wait(ctx, id, o)              poll until success or error, with
--                                       progress; o.interval, o.timeout
--   video.list(ctx, {page, number})     videos of the service account
--   video.search(ctx, where, operator)  videos whose metadata match
--   video.stream_create(ctx, name), video.stream_get(ctx, id)
--   video.ingestors(ctx), video.ingestor_select(ctx, id, stream_id),
--   video.ingestor_unselect(ctx)
--
-- Credentials: x-tva-sa-id is THETA_VIDEO_SA_ID (a setting: the API puts
-- it in its paths, /video/{sa}/list), x-tva-sa-secret is the secret
-- THETA_VIDEO_SA_SECRET, bound to api.thetavideoapi.com. A stream key
-- is masked in every result like a secret (client.masked). Every call
-- returns its value, or nil, err; a mutating call in a dry run returns
-- {dry_run = true, plan = ...}.
local clock = require "clock"
local config = require "config"
local errors = require "errors"
local http = require "http"
local json = require "json"
local log = require "log"
local secret = require "secret"
local task = require "task"
local client = require "client"

local _M = {}

local fmt = string.format

_M.BASE = "https://api.thetavideoapi.com"

local function sa_id()
  local id = config.get("THETA_VIDEO_SA_ID")
  if not id or not id:find("^srvacc_[%w_]+$") then
    return nil, errors.new("config", id and fmt("THETA_VIDEO_SA_ID " ..
      "'%s' is not a service account id (srvacc_...)", id) or
      "THETA_VIDEO_SA_ID is not set: the service account id " ..
      "(srvacc_..., dashboard: Video, Service accounts)", { sent = "no" })
  end
  return id
end

local function auth(_, ctx)
  local id, err = sa_id()
  local s = secret.get("THETA_VIDEO_SA_SECRET")
  if id and s then return { ["x-tva-sa-id"] = id, ["x-tva-sa-secret"] = s } end
  if ctx and ctx.dry_run then
    return { ["x-tva-sa-id"] = id or "<THETA_VIDEO_SA_ID not set>",
             ["x-tva-sa-secret"] = "<THETA_VIDEO_SA_SECRET not set>" },
           "THETA_VIDEO_SA_SECRET"
  end
  if not id then return nil, err end
  return nil, errors.new("config", "THETA_VIDEO_SA_SECRET is not set: " ..
    "the service account's secret; put it in the environment or " ..
    ".env.local (clawhost setup)")
end

local api = client.new {
  name = "the Theta Video API", base = { default = _M.BASE },
  auth = auth, headers = { Accept = "application/json" },
}

-- One call: the envelope's body, or nil, err; a dry run's plan.
local function call(ctx, o)
  local res, err = api:request(ctx, o)
  if not res and err.code == "dry_run" and err.plan then
    return client.plan_of(err.plan)
  end
  if not res then return nil, err end
  local v, derr = client.decode(res, o.what)
  if v == nil then return nil, derr end
  if type(v) == "table" and v.body ~= nil then return client.val(v.body) end
  return v
end

-- The first item of body[key] (the API answers lists of one), or the
-- body itself when it is the object.
local function first(body, key)
  if type(body) ~= "table" then return body end
  if body.dry_run then return body end
  local list = body[key]
  if type(list) == "table" and list[1] ~= nil then return list[1] end
  return body
end

local function id_ok(v, prefix, what)
  if type(v) ~= "string" or not v:find("^" .. prefix .. "[%w_]+$") then
    error(fmt("video: %s must look like %sabc..., got %s", what, prefix,
              tostring(v)), 3)
  end
  return v
end

function _M.upload_create(ctx)
  local body, err = call(ctx, { method = "POST", path = "/upload",
                                json = {}, what = "create an upload" })
  if body == nil then return nil, err end
  return first(body, "uploads")
end

-- PUT the bytes to the presigned URL: https only, and no credential
-- (the signature is in the URL; the storage host is not the API's).
function _M.upload_put(ctx, url, bytes, label)
  if type(url) ~= "string" or not url:find("^https://") then
    return nil, errors.new("protocol", "the upload URL the API gave is " ..
      "not https: " .. tostring(url))
  end
  local res, err = http.request { method = "PUT", url = url,
    headers = { ["Content-Type"] = "application/octet-stream" },
    body = bytes, progress = label, timeout_ms = 3600000 }
  if not res and err.code == "dry_run" then return client.plan_of(err.plan) end
  if not res then return nil, err end
  if res.status < 200 or res.status > 299 then
    return nil, client.status_error(res, { what = "upload the file" })
  end
  if label then log.progress(label, fmt("sent %d bytes", #bytes),
                             { done = true }) end
  return { bytes = #bytes, status = res.status }
end

function _M.create(ctx, o)
  if not o.upload_id and not o.source_uri then
    error("video.create: give upload_id or source_uri", 2)
  end
  local body, err = call(ctx, { method = "POST", path = "/video",
    json = { source_upload_id = o.upload_id, source_uri = o.source_uri,
             playback_policy = o.playback_policy or "public",
             metadata = o.metadata }, what = "create a video" })
  if body == nil then return nil, err end
  return first(body, "videos")
end

function _M.get(ctx, id)
  local body, err = call(ctx, { path = "/video/" ..
    id_ok(id, "video_", "the video id"), what = "get video " .. id })
  if body == nil then return nil, err end
  return first(body, "videos")
end

-- wait(ctx, id, {interval = 2, timeout = 3600, label}) -> the video in
-- state success, or nil, err (job_failed with err.video for error,
-- timeout). A progress line shows the state, progress and elapsed time.
function _M.wait(ctx, id, o)
  o = o or {}
  local t0, label = clock.monotonic(), o.label or id
  while true do
    local v, err = _M.get(ctx, id)
    if not v then return nil, err end
    local elapsed = clock.monotonic() - t0
    local state = tostring(client.val(v.state))
    local sub, pct = client.val(v.sub_state), tonumber(client.val(
                                                         v.progress))
    log.progress(label, fmt("%s%s%s (%d s)", state,
      sub and ("/" .. tostring(sub)) or "",
      pct and fmt(" %d%%", math.floor(pct)) or "", math.floor(elapsed)),
      { done = state == "success" or state == "error" })
    if state == "success" then return v end
    if state == "error" then
      return nil, errors.new("job_failed", fmt("video %s ended in " ..
        "state error%s", id, v.error and (": " .. tostring(v.error)) or ""),
        { video = v })
    end
    if elapsed > (o.timeout or 3600) then
      return nil, errors.new("timeout", fmt("video %s is still %s after " ..
        "%d s", id, state, math.floor(elapsed)), { video = v })
    end
    task.sleep(o.interval or 2)
  end
end

function _M.list(ctx, o)
  o = o or {}
  local sa, err = sa_id()
  if not sa then return nil, err end
  local body, lerr = call(ctx, { path = "/video/" .. sa .. "/list",
    query = { page = o.page or 1, number = o.number or 10 },
    what = "list videos" })
  if body == nil then return nil, lerr end
  return type(body) == "table" and (body.videos or body) or {}
end

-- search(ctx, {["metadata.key"] = "value", ...}, "and"|"or").
function _M.search(ctx, where, operator)
  local sa, err = sa_id()
  if not sa then return nil, err end
  local q = {}
  for k, v in pairs(where or {}) do q[k] = v end
  q.operator = operator or "and"
  local body, serr = call(ctx, { path = "/video/" .. sa .. "/search",
                                 query = q, what = "search videos" })
  if body == nil then return nil, serr end
  return type(body) == "table" and (body.videos or body) or {}
end

function _M.stream_create(ctx, name)
  local body, err = call(ctx, { method = "POST", path = "/stream",
    json = { name = name }, what = "create a stream" })
  if body == nil then return nil, err end
  return first(body, "streams")
end

function _M.stream_get(ctx, id)
  local body, err = call(ctx, { path = "/stream/" ..
    id_ok(id, "stream_", "the stream id"), what = "get stream " .. id })
  if body == nil then return nil, err end
  return first(body, "streams")
end

function _M.ingestors(ctx)
  local body, err = call(ctx, { path = "/ingestor/filter",
                                what = "list ingestors" })
  if body == nil then return nil, err end
  return type(body) == "table" and (body.ingestors or body) or {}
end

function _M.ingestor_select(ctx, id, stream_id)
  return call(ctx, { method = "PUT", path = "/ingestor/" ..
    id_ok(id, "ingestor_", "the ingestor id") .. "/select",
    json = { tva_stream = id_ok(stream_id, "stream_", "the stream id") },
    what = "select ingestor " .. id })
end

function _M.ingestor_unselect(ctx)
  return call(ctx, { method = "PUT", path = "/edge-node/ingestor/unselect",
                     json = {}, what = "release the ingestor" })
end

return _M
