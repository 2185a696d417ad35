-- deployments_test.lua: the pure parts of the deployment libraries:
-- handles found in every create and list answer shape
-- (theta.controller.handle, find), the dedicated endpoint allow-list
-- (theta.dedicated.check_endpoint, theta-api.md 6.7, with address
-- tricks of the kind SSRF payload lists collect), the masking of auth
-- fields in answers (client.masked) and the readiness bounds.
--
-- Run by the host as a recipe (tests/run_lua.sh). No network.

local function cases(t, suite)
  local eq, ok, raises = t.eq, t.ok, t.raises
  local ctl = require "theta.controller"
  local dedicated = require "theta.dedicated"
  local client = require "client"
  local json = require "json"

  local EP = "https://groundingdinoabc123-0123456789abcdef.tec-s1." ..
             "onthetaedgecloud.com"

  suite:case("handle: the 2026 object (PascalCase, in the envelope)",
             function()
    local v = json.decode([[{"status":"success","body":{"Name":"gd-1",
      "Endpoint":"]] .. EP .. [[","BaseID":"dpl_abc","Shard":3,
      "Suffix":"abc123xyz","AuthPassword":"pw",
      "Annotations":{"nickname":"clawhost-vd-1"}}}]])
    local h = ctl.handle(v.body)
    eq(h.endpoint, EP)
    eq(h.base_id, "dpl_abc")
    eq(h.shard, 3)
    eq(math.type(h.shard), "integer")
    eq(h.suffix, "abc123xyz")
    eq(h.name, "gd-1")
    eq(h.nickname, "clawhost-vd-1")
    eq(ctl.handle_text(h), "3/abc123xyz")
  end)

  suite:case("handle: nested snake_case, a string shard, any key case",
             function()
    local h = ctl.handle { deployment = { endpoint_url = EP .. "/",
      base_id = "dpl_x", SHARD = "12", suffix = "s.1:2-3",
      annotations = { nickname = "nick" } } }
    eq(h.endpoint, EP)
    eq(h.base_id, "dpl_x")
    eq(h.shard, 12)
    eq(h.suffix, "s.1:2-3")
    eq(h.nickname, "nick")
  end)

  suite:case("handle: the 2024 string body holds only the URL",
             function()
    local h = ctl.handle("Deployment created: " .. EP .. ". Done")
    eq(h.endpoint, EP)
    eq(h.shard, nil)
    eq(ctl.handle_text(h), "")
    eq(ctl.handle_text { base_id = "b1" }, "base:b1")
    eq(ctl.handle_text { nickname = "n" }, "nickname:n")
  end)

  suite:case("handle: the shallowest key wins, bad values are skipped",
             function()
    local h = ctl.handle { Shard = -1, Suffix = "bad suffix!",
      Endpoint = "http://plain.example", inner = { Shard = 2,
      Suffix = "ok", url = EP } }
    eq(h.shard, 2)
    eq(h.suffix, "ok")
    eq(h.endpoint, EP)
  end)

  suite:case("find: by suffix and shard, base id, endpoint, nickname",
             function()
    local items = {
      { Name = "a", Shard = 1, Suffix = "s1", BaseID = "b1",
        Endpoint = EP },
      { Name = "clawhost-vd-2", Shard = 2, Suffix = "s2",
        Annotations = { nickname = "clawhost-vd-2" } },
      { Name = "c", Shard = 3, Suffix = "s1" },
    }
    eq(#ctl.find(items, { shard = 1, suffix = "s1" }), 1)
    eq(#ctl.find(items, { suffix = "s1" }), 2)
    eq(#ctl.find(items, { base_id = "b1" }), 1)
    eq(#ctl.find(items, { endpoint = EP }), 1)
    eq(ctl.find(items, { nickname = "clawhost-vd-2" })[1].Suffix, "s2")
    eq(#ctl.find(items, { nickname = "nobody" }), 0)
    eq(#ctl.find(nil, { suffix = "s1" }), 0)
  end)

  suite:case("balance_value: the first finite number under a " ..
             "balance-like key", function()
    eq(ctl.balance_value { balances = { { org_id = "org_1",
                                          balance = 3421.300894 } } },
       3421.300894)
    eq(ctl.balance_value { available = "12.5" }, 12.5)
    eq(ctl.balance_value { balance = "n/a", credits = 7 }, 7)
    eq(ctl.balance_value { nothing = 1 }, nil)
  end)

  suite:case("project and org ids are checked", function()
    eq(ctl.project_id("prj_9uxm3drw0ka0t96g8k3pdb6p697a"),
       "prj_9uxm3drw0ka0t96g8k3pdb6p697a")
    local v, err = ctl.project_id("proj-1")
    eq(v, nil)
    eq(err.code, "config")
    ok(err.message:find("--project-id 'proj-1' is not a project id", 1,
                        true), err.message)
    v, err = ctl.project_id("prj_a/../b")
    eq(v, nil)
    v, err = ctl.org_id("prj_x")
    eq(v, nil)
    ok(err.message:find("org_", 1, true))
  end)

  -- the endpoint allow-list ----------------------------------------------

  local ACCEPTED = {
    { EP, EP },
    { EP .. "/", EP },
    { "HTTPS://X-1.TEC-S31.ONTHETAEDGECLOUD.COM", "https://x-1.tec-s31." ..
      "onthetaedgecloud.com" },
    { "https://a.onthetaedgecloud.com:443/prefix//",
      "https://a.onthetaedgecloud.com:443/prefix" },
    { "https://api.thetaedgecloud.com.", "https://api.thetaedgecloud.com" },
    { "  " .. EP .. "  ", EP },
  }
  local REFUSED = {
    { "http://a.onthetaedgecloud.com", "https:// only" },
    { "ftp://a.onthetaedgecloud.com", "https:// only" },
    { "a.onthetaedgecloud.com", "absolute URL" },
    { "https://user:pw@a.onthetaedgecloud.com", "user name or password" },
    { "https://a.onthetaedgecloud.com@evil.example", "user name" },
    { "https://localhost", "local machine" },
    { "https://foo.localhost", "local machine" },
    { "https://127.0.0.1", "local or private" },
    { "https://127.1.2.3:8443", "local or private" },
    { "https://10.0.0.5", "local or private" },
    { "https://172.16.0.1", "local or private" },
    { "https://172.31.255.255", "local or private" },
    { "https://192.168.1.1", "local or private" },
    { "https://169.254.169.254", "local or private" },
    { "https://100.64.0.1", "local or private" },
    { "https://0.0.0.0", "local or private" },
    { "https://256.1.1.1", "not a valid IPv4" },
    { "https://8.8.8.8", "IP address" },
    { "https://[::1]", "IPv6" },
    { "https://[::ffff:127.0.0.1]", "IPv6" },
    { "https://[fe80::1]", "IPv6" },
    { "https://2130706433", "numeric" },
    { "https://0x7f000001", "numeric" },
    { "https://evil.example", "not under" },
    { "https://onthetaedgecloud.com.evil.example", "not under" },
    { "https://evilonthetaedgecloud.com", "not under" },
    { "https://a.onthetaedgecloud.com.evil.example", "not under" },
    { "https://evil.example#.onthetaedgecloud.com", "query or fragment" },
    { "https://evil.example?x=.thetaedgecloud.com", "query or fragment" },
    { "https://evil.example\\.onthetaedgecloud.com", "characters" },
    { "https://evil%2eexample.onthetaedgecloud.com", "characters" },
    { "https://", "no host" },
    { "https://:443", "no host" },
  }

  suite:case("check_endpoint accepts Theta endpoints, normalized",
             function()
    for _, c in ipairs(ACCEPTED) do
      eq(dedicated.check_endpoint(c[1]), c[2], c[1])
    end
  end)

  suite:case("check_endpoint refuses local, private, foreign and " ..
             "disguised hosts, saying why", function()
    for _, c in ipairs(REFUSED) do
      local url, why = dedicated.check_endpoint(c[1])
      eq(url, nil, c[1])
      ok(why and why:find(c[2], 1, true), c[1] .. ": " .. tostring(why))
    end
    local url, why = dedicated.check_endpoint(42)
    eq(url, nil)
    eq(why, "is not a string")
  end)

  suite:case("endpoint(): a refused argument is a config error that " ..
             "names it", function()
    local url, err = dedicated.endpoint("https://127.0.0.1:8000")
    eq(url, nil)
    eq(err.code, "config")
    ok(err.message:find("--endpoint is refused: it is a local or " ..
                        "private address (127.0.0.1)", 1, true),
       err.message)
  end)

  suite:case("ready: bounds of timeout and interval raise, the dry " ..
             "run only plans", function()
    raises(function()
      dedicated.ready({ dry_run = true }, { endpoint = EP,
                                            timeout_ms = 999 })
    end, "timeout_ms must be a whole number of ms from 1000 to 1800000")
    raises(function()
      dedicated.ready({ dry_run = true }, { endpoint = EP,
                                            interval_ms = 60001 })
    end, "interval_ms")
    raises(function()
      dedicated.ready({ dry_run = true }, { endpoint = EP, kind = "x" })
    end, "probe must be openai or gradio")
    local r = dedicated.ready({ dry_run = true }, { endpoint = EP })
    eq(r.dry_run, true)
    eq(r.timeout_ms, 120000)
    eq(r.interval_ms, 5000)
    eq(r.attempts, nil)
  end)

  -- masking ----------------------------------------------------------------

  suite:case("masked: auth fields by key, token counts kept, arrays " ..
             "stay arrays", function()
    local v = json.decode([[{"body":[{"Name":"n","AuthPassword":"p1",
      "AuthUsername":"u1","auth_password":"p2","EnvVars":{"HF":"hf_x"},
      "x-api-key":"k","Authorization":"Basic abc","registry_password":null,
      "usage":{"prompt_tokens":3,"max_tokens":32},"access_token":"t",
      "client_secret":"s","Endpoint":"https://e"}],"tags":[]}]])
    local m = client.masked(v)
    local d = m.body[1]
    eq(d.Name, "n")
    eq(d.Endpoint, "https://e")
    for _, k in ipairs { "AuthPassword", "AuthUsername", "auth_password",
                         "x-api-key", "Authorization", "access_token",
                         "client_secret" } do
      eq(d[k], "***", k)
    end
    eq(d.EnvVars.HF, "***")
    eq(d.registry_password, json.null)
    eq(d.usage.prompt_tokens, 3)
    eq(d.usage.max_tokens, 32)
    ok(json.is_array(m.body))
    eq(json.encode(m.tags), "[]")
    eq(v.body[1].AuthPassword, "p1", "the original is untouched")
    local cyc = { a = "x" }
    cyc.self = cyc
    eq(client.masked(cyc).self.a, "x")
  end)

  suite:case("plan_of: the body decoded and masked", function()
    local p = client.plan_of { method = "POST", url = "https://c/x",
      headers = { ["x-api-key"] = "<secret THETA_EC_API_KEY>",
                  ["User-Agent"] = "Mozilla/5.0" },
      body = '{"auth_username":"clawhost_1","auth_password":' ..
             '"<secret deployment_password>","vm_id":"vm_gt1"}' }
    eq(p.dry_run, true)
    eq(p.plan.body.vm_id, "vm_gt1")
    eq(p.plan.body.auth_username, "***")
    eq(p.plan.body.auth_password, "***")
    eq(p.plan.headers["x-api-key"], "***")
    eq(p.plan.headers["User-Agent"], "Mozilla/5.0")
  end)
end

return {
  description = "Tests for lua/theta/controller, dedicated, client.mask",
  run = function()
    local t = require("testlib")
    local suite = t.new("deployments")
    cases(t, suite)
    return suite:done()
  end,
}
