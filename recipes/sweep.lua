-- sweep: finish the cleanup killed runs left in the journal: delete
-- each deployment still open there, verify it is gone, close the
-- entry (docs/deployments.md). `clawhost sweep` runs it.
--
--   clawhost sweep              delete and verify what was left
--   clawhost sweep --dry-run    only list it
--   clawhost sweep --force      also take over entries of runs that may
--                               still be running (another machine)
local errors = require "errors"
local disposable = require "theta.disposable"

return {
  description = "Finish cleanup left by killed runs: delete, verify, " ..
                "close journal entries (--dry-run lists)",
  group = "Maintenance",
  params = {
    force = { type = "boolean", default = false,
              help = "also entries of runs that may still be running" },
  },
  calls = { "GET controller .../deployment/list",
            "DELETE .../deployment/{shard}/{suffix}" },
  spends = false,
  run = function(ctx, args)
    local rows, problems = disposable.sweep(ctx, { force = args.force })
    if not rows then return nil, problems end
    local r = { entries = rows, count = #rows, dry_run = ctx.dry_run or nil,
                columns = { "entry", "state", "handle", "nickname",
                            "action" } }
    if #rows == 0 then r.note = "nothing left to clean up" end
    if problems > 0 then
      return r, errors.new("cleanup", problems .. " entr" ..
        (problems == 1 and "y" or "ies") .. " could not be cleaned up; " ..
        "they stay in the journal for the next sweep")
    end
    return r
  end,
}
