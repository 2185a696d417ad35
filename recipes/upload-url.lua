-- upload-url: presigned upload URLs for a service's file inputs (MCP:
-- get_upload_url); with --file, uploads the file too.
--
--   clawhost run upload-url --service whisper --field audio_filename
--   clawhost run upload-url --service blip --file photo.png
local errors = require "errors"
local od = require "theta.ondemand"

return {
  group = "Theta on-demand",
  description = "Get presigned upload URLs for file inputs (and upload " ..
                "a file with --file)",
  params = {
    service = { type = "string", required = true, arg = "ALIAS",
                help = "service alias, e.g. blip or whisper" },
    field = { type = "list", arg = "NAME",
              help = "input field (default: all file inputs)" },
    input_field = { type = "list", arg = "NAME",
                    help = "the same as --field (MCP name)" },
    input_fields = { type = "list", arg = "NAME",
                     help = "the same as --field (MCP name)" },
    prediction = { type = "string", help = "per-prediction URLs" },
    file = { type = "file", help = "upload this file to the URL and " ..
                                   "print only the filename to pass" },
  },
  calls = { "POST /infer_request/{service}/input_presigned_urls",
            "PUT <presigned URL> (with --file; no Theta token)" },
  spends = false,
  run = function(ctx, args)
    local fields
    for _, list in ipairs { args.field or {}, args.input_field or {},
                            args.input_fields or {} } do
      for _, f in ipairs(list) do
        fields = fields or {}
        fields[#fields + 1] = f
      end
    end
    if args.file and fields and #fields > 1 then
      return nil, errors.new("usage", "--file uploads one file: give at " ..
                             "most one --field")
    end
    if args.file and not fields then
      local entry, err = od.service(ctx, args.service)
      if not entry then return nil, err end
      if #entry.files == 0 then
        return nil, errors.new("usage", args.service .. " has no file " ..
                               "inputs")
      end
      fields = { entry.files[1] }
    end
    local u, err = od.upload_url(ctx, { service = args.service,
                                        input_fields = fields,
                                        prediction = args.prediction })
    if not u or u.dry_run or not args.file then
      if u and not u.dry_run then
        local uploads = {}
        for name, slot in pairs(u.fields) do
          uploads[name] = { filename = slot.filename,
                            presigned_url = slot.url }
        end
        return { service = u.service, uploads = uploads,
                 next = "PUT the bytes to presigned_url (no token), " ..
                        "then pass filename as the input value" }
      end
      return u, err
    end
    local field = fields[1]
    local slot = u.fields[field]
    local put, perr = od.upload(ctx, { url = slot.url,
                                       bytes = ctx.input("file") })
    if not put then return nil, perr end
    return { service = u.service, field = field, filename = slot.filename,
             bytes = put.bytes,
             next = "clawhost run infer --service " .. u.service ..
                    " --input '{\"" .. field .. "\": \"" .. slot.filename ..
                    "\"}'" }
  end,
}
