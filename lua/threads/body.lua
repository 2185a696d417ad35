-- threads.body: the request bodies of the skill (seeds/000), exactly.
-- Pure.
--
--   body.publish(s, opts, scheduled)   body A: POST .../threads/publish
--   body.chat(s, opts)                 body B: POST .../assistant/chat
--
-- s is what threads.settings.get returned (base_url, tenant_id).
local json = require "json"
local check = require "threads.check"
local settings = require "threads.settings"

local _M = {}

local function str_or_null(v)
  if v == nil then return json.null end
  return tostring(v)            -- chat ids as JSON strings (6.7)
end

-- images always an array, scheduled_at a time or null, meta with all
-- five fields; the message exactly as check.publish checked it
-- (check.text: without trailing white space).
function _M.publish(s, opts, scheduled)
  local images = json.array()
  for i, u in ipairs(opts.images or {}) do images[i] = u end
  return {
    message = check.text(opts.message),
    images = images,
    scheduled_at = scheduled or json.null,
    publish_mode = opts.mode or "queue",
    auto_proxy_images = opts.proxy_images ~= false,
    meta = {
      tenant_id = opts.tenant or s.tenant_id,
      source = opts.source or settings.DEFAULT_SOURCE,
      chat_id = str_or_null(opts.chat_id),
      user_id = str_or_null(opts.user_id),
      username = str_or_null(opts.username),
    },
  }
end

function _M.chat(s, opts)
  local tenant = opts.tenant or s.tenant_id
  local session = opts.session_id or
                  (opts.chat_id and "tg_" .. tostring(opts.chat_id)) or
                  "cli_" .. tenant
  return {
    session_id = session,
    execute_tools = opts.execute_tools ~= false,
    message = opts.message or settings.DEFAULT_CHAT_MESSAGE,
    context = {
      tenant_id = tenant,
      prompt = opts.prompt,
      message = opts.caption or opts.prompt,
      provider = opts.provider or settings.DEFAULT_PROVIDER,
      model = opts.model or settings.DEFAULT_MODEL,
      source = opts.source or settings.DEFAULT_SOURCE,
      campaign = opts.campaign or json.null,
      api_base_url = opts.api_base_url or s.base_url,
    },
  }
end

return _M
