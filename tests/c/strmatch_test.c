/*
** strmatch_test.c -- the polling pattern matcher against Lua 5.4 itself.
**
** Differential: one lua_State holds both the real string library and
** ours (luaopen_clawhost_strmatch); every case calls both through the
** same Lua call site and compares the serialised outcome (count, type
** and value of every result, or the error text). Cases are a hand list
** of edge cases plus seeded random (subject, pattern) pairs from a small
** grammar. Then the deadline: the V4 pattern must stop when the poll
** says so, and polls must come at the documented rate.
**
** Lines starting "ok " are information (figures), not assertions.
*/
#include "sandbox/lstrmatch.h"
#include "unit.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

static lua_State *L;
static int hand_count, random_count[4], mismatches;
static int outcomes[3];     /* Lua's outcomes: values, no match, error */

/* Runs in the test state. check(fname, ...) returns the outcome of the
** real function and of ours as two strings. */
static const char harness[] =
    "local real, ours = ...\n"
    "local fmt, concat = string.format, table.concat\n"
    "local pack, unpack = table.pack, table.unpack\n"
    "local function ser(t, n)\n"
    "  local out = {tostring(n)}\n"
    "  for k = 1, n do\n"
    "    local v = t[k]\n"
    "    if type(v) == 'string' then out[#out + 1] = fmt('%q', v)\n"
    "    elseif type(v) == 'number' then\n"
    "      out[#out + 1] = math.type(v) .. ':' .. fmt('%q', v)\n"
    "    else out[#out + 1] = type(v) end\n"
    "  end\n"
    "  return concat(out, ' ')\n"
    "end\n"
    "local function outcome(ok, ...)\n"
    "  local t = pack(...)\n"
    "  if not ok then\n"
    "    local e = t[1]\n"
    "    return 'error: ' .. (type(e) == 'string' and e or type(e))\n"
    "  end\n"
    "  return 'ok ' .. ser(t, t.n)\n"
    "end\n"
    "local function runner(T)\n"
    "  local r = {}\n"
    "  function r.find(...)\n"
    "    return outcome(pcall(function(...) return T.find(...) end, ...))\n"
    "  end\n"
    "  function r.match(...)\n"
    "    return outcome(pcall(function(...) return T.match(...) end, ...))\n"
    "  end\n"
    "  function r.gsub(...)\n"
    "    return outcome(pcall(function(...) return T.gsub(...) end, ...))\n"
    "  end\n"
    "  function r.gmatch(...)\n"
    "    local a = pack(...)\n"
    "    return outcome(pcall(function()\n"
    "      local it, out = T.gmatch(unpack(a, 1, a.n)), {}\n"
    "      for _ = 1, 300 do\n"
    "        local v = pack(it())\n"
    "        out[#out + 1] = ser(v, v.n)\n"
    "        if v[1] == nil then break end\n"
    "      end\n"
    "      local v = pack(it())\n"
    "      out[#out + 1] = 'again ' .. ser(v, v.n)\n"
    "      return concat(out, ' | ')\n"
    "    end))\n"
    "  end\n"
    "  return r\n"
    "end\n"
    "local R, O = runner(real), runner(ours)\n"
    "local function check(fname, ...)\n"
    "  return R[fname](...), O[fname](...)\n"
    "end\n"
    "local t = {}\n"
    "for i = 0, 255 do t[#t + 1] = string.char(i) end\n"
    "ALL = concat(t)\n"
    "REPL_T = {a = 'A', b = false, ab = 1, [''] = 'E', c = true,\n"
    "          ['1'] = 'one', [1] = 'pos1', [3] = 3.5, ['('] = {}}\n"
    "function REPL_F(...)\n"
    "  local n, a = select('#', ...), ...\n"
    "  if a == 'b' then return nil elseif a == 'c' then return false\n"
    "  elseif a == '(' then return {} elseif a == 2 then return 2.5 end\n"
    "  return n .. ':' .. concat({...}, ',')\n"
    "end\n"
    "local function hand(fname, src)\n"
    "  local a = pack(assert(load('return ' .. src, '=case', 't'))())\n"
    "  return check(fname, unpack(a, 1, a.n))\n"
    "end\n"
    "local repls = {'<%0>', REPL_T, REPL_F, 7}\n"
    "local function rand_gsub(s, p, kind, r, n)\n"
    "  if kind < 4 then r = repls[kind + 1] end\n"
    "  return check('gsub', s, p, r, n)\n"
    "end\n"
    "return check, hand, rand_gsub\n";

static int ref_check, ref_hand, ref_rand_gsub;

/* Calls the function at ref with the n values on top of the stack and
** compares the two outcomes it returns; desc names the case. */
static void compare(int ref, int nargs, const char *desc)
{
    const char *real, *ours;

    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lua_insert(L, -nargs - 1);
    if (lua_pcall(L, nargs, 2, 0) != LUA_OK) {
        fprintf(stderr, "  harness error: %s (%s)\n",
                lua_tostring(L, -1), desc);
        unit_fail(__FILE__, __LINE__, "harness ran");
        lua_pop(L, 1);
        return;
    }
    real = lua_tostring(L, -2);
    ours = lua_tostring(L, -1);
    if (strncmp(real, "error", 5) == 0)
        outcomes[2]++;
    else if (strcmp(real, "ok 1 nil") == 0
             || strcmp(real, "ok 1 \"0 | again 0\"") == 0)
        outcomes[1]++;
    else
        outcomes[0]++;
    if (strcmp(real, ours) != 0) {
        if (++mismatches <= 30)
            fprintf(stderr, "  MISMATCH %s\n    lua:  %.300s\n"
                    "    ours: %.300s\n", desc, real, ours);
        unit_fail(__FILE__, __LINE__, "same outcome as Lua");
    }
    lua_pop(L, 2);
}

static const char *const fnames[4] = {"find", "match", "gmatch", "gsub"};

/* One hand case: fname "*" runs find, match and gmatch with the
** arguments and gsub with "<%0>" added. */
static void hand(const char *fname, const char *args)
{
    char src[1024];
    int i;

    if (strcmp(fname, "*") != 0) {
        lua_pushstring(L, fname);
        lua_pushstring(L, args);
        compare(ref_hand, 2, args);
        hand_count++;
        return;
    }
    for (i = 0; i < 4; i++) {
        snprintf(src, sizeof src, "%s%s", args,
                 i == 3 ? ", '<%0>'" : "");
        lua_pushstring(L, fnames[i]);
        lua_pushstring(L, src);
        compare(ref_hand, 2, src);
        hand_count++;
    }
}

struct hand_case {
    const char *fname;
    const char *args;   /* Lua expressions: the arguments */
};

static const struct hand_case classes_sets[] = {
    {"*", "'hello world', '.'"},
    {"*", "'hello world', '%a+'"},
    {"*", "ALL, '%g+'"},
    {"*", "'x]y', '[]]'"},
    {"*", "'x]y', '[^]]'"},
    {"*", "'a-b', '[a-]+'"},
    {"*", "'-a', '[-a]+'"},
    {"*", "'Az-9', '[%a-z]+'"},
    {"*", "'a-z', '[%a-]+'"},
    {"*", "'bcdef', '[a-c-e]+'"},
    {"*", "'abc', '[]'"},
    {"*", "'abc', '[^]'"},
    {"*", "'a]', '[%]'"},
    {"*", "'a]', '[%]]'"},
    {"*", "'a-z', '[a%-z]+'"},
    {"*", "'za', '[z-a]'"},
    {"*", "']^_`a', '[]-a]+'"},
    {"*", "'a]%', '[a-%%]'"},
    {"*", "'^x', '[%^x]+'"},
    {"*", "'^x', '[x^]+'"},
    {"*", "'a\\0b\\1', '[\\0-\\31]+'"},
    {"*", "'a 1!', '[^%s%d]+'"},
    {"*", "'a.b', '[.]'"},
    {"*", "'a\\0b', '%z'"},
    {"*", "'a\\0b', '%Z+'"},
    {"*", "'a\\0b', '[%z]'"},
    {"*", "'a\\0b', '\\0'"},
    {"*", "'a\\0b', '%\\0'"},
    {"*", "'a\\0b', '[\\0]'"},
    {"*", "'\\200\\255a', '[\\128-\\255]+'"},
    {"*", "'\\200\\255a', '%A+'"},
    {"*", "'.a', '%.'"},
    {"*", "'%a', '%%'"},
    {"*", "'(a)', '%(a%)'"},
    {"*", "'a-b', '%-'"},
    {"*", "'a^b', '%^'"},
    {"*", "'a$b', '%$'"},
    {"*", "'a$', '%$'"},
    {"*", "'a*', 'a%*'"},
    {"*", "'q', '%q'"},
    {"*", "'Q', '%Q'"},
    {"*", "'xyz', '[%w_]+'"},
};

static const struct hand_case quantifiers_anchors[] = {
    {"*", "'aaa', 'a*'"},
    {"*", "'aaa', 'a+'"},
    {"*", "'aaa', 'a-'"},
    {"*", "'aaa', 'a-$'"},
    {"*", "'aaa', 'a?a?a?a?'"},
    {"*", "'baaac', 'ba-c'"},
    {"*", "'abc', 'x*'"},
    {"*", "'abc', 'x-'"},
    {"*", "'abc', 'x?'"},
    {"*", "'abc', 'x+'"},
    {"*", "'abc', '^'"},
    {"*", "'abc', '$'"},
    {"*", "'abc', '^$'"},
    {"*", "'', '^$'"},
    {"*", "'', ''"},
    {"*", "'abc', ''"},
    {"*", "'abc', '^a'"},
    {"*", "'abc', '^b'"},
    {"*", "'aaa', '^a'"},
    {"*", "'a^a', 'a^'"},
    {"*", "'^a^a', '^a'"},
    {"*", "'^^a', '^^a'"},
    {"*", "'a$b', 'a$b'"},
    {"*", "'ab$', 'b$'"},
    {"*", "'ab$', '$$'"},
    {"*", "'$', '^$$'"},
    {"*", "'ab', '.-b$'"},
    {"*", "'abab', '(ab)*'"},
    {"*", "'a*', 'a**'"},
    {"*", "'a+', 'a+*'"},
    {"*", "'  trim me  ', '^%s*(.-)%s*$'"},
    {"*", "'key = value', '(%w+)%s*=%s*(%w+)'"},
    {"*", "'hello world from lua', '%a+'"},
};

static const struct hand_case specials_captures[] = {
    {"*", "'f(a(b)c)d', '%b()'"},
    {"*", "'f(a(b)c', '%b()'"},
    {"*", "'xaxbx', '%bxx'"},
    {"*", "'a)b(c', '%b)('"},
    {"*", "'[[x]]', '%b[]'"},
    {"*", "'abc', '%b'"},
    {"*", "'abc', '%ba'"},
    {"*", "'abc', 'x%b'"},
    {"*", "'THE (quick) fox', '%f[%a]%a+'"},
    {"*", "'THE (quick) fox', '%f[%A]'"},
    {"*", "'abc', '%f[a]'"},
    {"*", "'abc', '%f[%z]'"},
    {"*", "'abc', '%f[^%z]'"},
    {"*", "'', '%f[%z]'"},
    {"*", "'a b', '%f[%w]%w+%f[%W]'"},
    {"*", "'abc', '%fa'"},
    {"*", "'abc', '%f'"},
    {"*", "'abc', '%f[a'"},
    {"*", "'aa', '(a)%1'"},
    {"*", "'hello hello', '(%w+) %1'"},
    {"*", "'abba', '(a)(b)%2%1'"},
    {"*", "'aa', '()a%1'"},
    {"*", "'aa', '%1'"},
    {"*", "'aa', '(a%1)'"},
    {"*", "'aa', 'a%0'"},
    {"*", "'aa', '(a)%9'"},
    {"*", "'abc', '()'"},
    {"*", "'abc', '()a()'"},
    {"*", "'abc', '(()a)'"},
    {"*", "'abc', '((a)(b))'"},
    {"*", "'abc', '(a(b(c)))'"},
    {"*", "'abc', '(a'"},
    {"*", "'abc', '(()'"},
    {"*", "'abc', 'a)'"},
    {"*", "'abc', '())'"},
    {"*", "'abc', '%'"},
    {"*", "'abc', 'a%'"},
    {"*", "'abc', 'x%'"},
    {"*", "'abc', '['"},
    {"*", "'abc', 'a['"},
    {"*", "'abc', 'a[^'"},
    {"*", "'abc', '[a'"},
    {"*", "'abc', '[%'"},
    {"*", "'abc', '[^]]'"},
    {"*", "string.rep('a', 32), string.rep('(a)', 32)"},
    {"*", "string.rep('a', 40), string.rep('(a)', 33)"},
    {"*", "'a', string.rep('()', 32)"},
    {"*", "'a', string.rep('()', 33)"},
    {"*", "string.rep('a', 300), string.rep('a?', 199)"},
    {"*", "string.rep('a', 300), string.rep('a?', 200)"},
    {"*", "string.rep('a', 300), string.rep('a?', 201)"},
    {"*", "string.rep('a', 300), string.rep('a*', 199)"},
    {"*", "string.rep('a', 300), string.rep('a*', 200)"},
    {"*", "string.rep('a', 300), string.rep('a-', 200)"},
    {"*", "'aaa', string.rep('(', 99) .. string.rep(')', 99)"},
    {"*", "'aaa', string.rep('(', 100) .. string.rep(')', 100)"},
    {"*", "'', string.rep('x*', 300)"},
    {"*", "'aaa', string.rep('a?', 300)"},
    {"*", "string.rep('a', 22), string.rep('.-', 3) .. 'b'"},
};

static const struct hand_case init_find[] = {
    {"find", "'abc', 'b', -1"},
    {"find", "'abc', 'b', -2"},
    {"find", "'abc', 'b', -10"},
    {"find", "'abc', 'b', 0"},
    {"find", "'abc', '', 3"},
    {"find", "'abc', '', 4"},
    {"find", "'abc', '', 5"},
    {"find", "'abc', 'c$', 3"},
    {"find", "'abc', '^b', 2"},
    {"find", "'abc', '%f[%w]', 2"},
    {"find", "'abc', 'b', 1.0"},
    {"find", "'abc', 'b', '2'"},
    {"find", "'abc', 'b', 1.5"},
    {"find", "'abc', 'b', 'x'"},
    {"find", "'abc', 'b', math.mininteger"},
    {"find", "'abc', 'b', math.maxinteger"},
    {"match", "'abc', '', 4"},
    {"match", "'abc', '', 5"},
    {"match", "'abc', '.', -1"},
    {"match", "'abc', '()', -100"},
    {"gmatch", "'abc', '.', -2"},
    {"gmatch", "'abc', '.', 10"},
    {"gmatch", "'abc', '', 4"},
    {"gmatch", "'abc', '', 3"},
    {"gmatch", "'abc', '()', 0"},
    {"find", "'a.b', '.', 1, true"},
    {"find", "'a.b', '.', nil, true"},
    {"gmatch", "123, 2"},
    {"gmatch", "'abc', '^b'"},
    {"gmatch", "'a^b', '^b'"},
    {"find", "'a+b', '+', 1, true"},
    {"find", "'a%b', '%', 1, true"},
    {"find", "'a(b', '(', 1, true"},
    {"find", "'a[b', '[', 1, 1"},
    {"find", "'a[b', '[', 1, false"},
    {"find", "'a[b', '[', 1, nil"},
    {"find", "'abc', '', 10, true"},
    {"find", "'abc', '', 4, true"},
    {"find", "'', '', 1, true"},
    {"find", "'aXbXc', 'X', 3, true"},
    {"find", "'aaab', 'aab', 1, true"},
    {"find", "'ab', 'abc', 1, true"},
    {"find", "'a)b', 'a)'"},
    {"find", "'a]', ']'"},
    {"find", "'a\\0b', '\\0b'"},
    {"find", "'a\\0b.', '\\0b.'"},
    {"find", "1234, 23"},
    {"match", "12.5, '%.'"},
    {"find", "nil, 'a'"},
    {"find", "'a', nil"},
    {"find", "'a'"},
    {"find", "{}, 'a'"},
    {"match", "'a'"},
    {"match", "'a', 'a', {}"},
    {"gmatch", "nil, 'a'"},
    {"gmatch", "'a', {}"},
    {"gmatch", "'a', 'a', 'x'"},
    {"gmatch", "'aaa', 'a*'"},
    {"gmatch", "'baaac', 'a*'"},
    {"gmatch", "'abc', '%w*'"},
    {"gmatch", "'a,b,,c', '([^,]*)'"},
    {"gmatch", "'k1=v1, k2=v2', '(%w+)=(%w+)'"},
};

static const struct hand_case gsub_cases[] = {
    {"gsub", "'hello world', '(%w+)', '%1 %1'"},
    {"gsub", "'hello world', '%w+', '%0 %0', 1"},
    {"gsub", "'hello world', '(%w+) (%w+)', '%2 %1'"},
    {"gsub", "'abc', '%w', '%1'"},
    {"gsub", "'abc', '%w', '%2'"},
    {"gsub", "'abc', '(%w)', '%2'"},
    {"gsub", "'abc', '()', '%1'"},
    {"gsub", "'abc', '(b)()', '[%1%2]'"},
    {"gsub", "'abc', 'b', '%%'"},
    {"gsub", "'abc', 'b', '%'"},
    {"gsub", "'abc', 'b', 'x%'"},
    {"gsub", "'abc', 'b', '%x'"},
    {"gsub", "'abc', 'b', '%\\0'"},
    {"gsub", "'abc', 'b', 'a\\0b'"},
    {"gsub", "'abc', '', '-'"},
    {"gsub", "'abc', '%w*', '-'"},
    {"gsub", "'abc', 'b*', '-'"},
    {"gsub", "'abc', 'x*', '-'"},
    {"gsub", "'', 'x*', '-'"},
    {"gsub", "'', '', '-'"},
    {"gsub", "'aaa', '^a', 'b'"},
    {"gsub", "'aaa', '^', 'b'"},
    {"gsub", "'aaa', '$', 'b'"},
    {"gsub", "'aaa', 'a', 'b', 0"},
    {"gsub", "'aaa', 'a', 'b', -1"},
    {"gsub", "'aaa', 'a', 'b', 2"},
    {"gsub", "'aaa', 'a', 'b', '2'"},
    {"gsub", "'aaa', 'a', 'b', 2.0"},
    {"gsub", "'aaa', 'a', 'b', 2.5"},
    {"gsub", "'aaa', 'a', 'b', 'x'"},
    {"gsub", "'aaa', 'a', 'b', math.maxinteger"},
    {"gsub", "'abc', 'b', 42"},
    {"gsub", "'abc', 'b', 1.5"},
    {"gsub", "'abc', 'b', 2^63"},
    {"gsub", "'abc', 'b'"},
    {"gsub", "'abc', 'b', nil"},
    {"gsub", "'abc', 'b', true"},
    {"gsub", "'abc', 'b', nil, 'x'"},
    {"gsub", "nil, 'b', 'x'"},
    {"gsub", "'abc', nil, 'x'"},
    {"gsub", "123, 2, 9"},
    {"gsub", "'abc', '%w', {a = 1, b = 'B'}"},
    {"gsub", "'abc', '%w', {a = false, b = 'B'}"},
    {"gsub", "'abc', '%w', {}"},
    {"gsub", "'abc', '%w', {a = {}}"},
    {"gsub", "'abc', '%w', {a = true}"},
    {"gsub", "'abc', '(%w)(%w)', {a = 'X'}"},
    {"gsub", "'abc', '()%w', {[1] = 'one', [3] = 3.0}"},
    {"gsub", "'abc', '%w', setmetatable({}, {__index = function(_, k)"
             " return k:upper() end})"},
    {"gsub", "'abc', '%w', function(c) return c:upper() end"},
    {"gsub", "'abc', '%w', function(c) end"},
    {"gsub", "'abc', '%w', function(c) return false end"},
    {"gsub", "'abc', '%w', function(c) return c == 'b' end"},
    {"gsub", "'abc', '%w', function(c) return 1, 2 end"},
    {"gsub", "'abc', '%w', function(c) return {} end"},
    {"gsub", "'abc', '%w', function(c) error('boom') end"},
    {"gsub", "'abc', '%w', function(c) error({}) end"},
    {"gsub", "'abc', '(%w)()', function(...) "
             "return select('#', ...) .. table.concat({...}, ',') end"},
    {"gsub", "'abc', '', function(...) return '[' .. select('#', ...)"
             " .. ']' end"},
    {"gsub", "'abc', '(a', 'x'"},
    {"gsub", "'abc', '(a', '%0'"},
    {"gsub", "'abc', '(a', '%1'"},
    {"gsub", "'abc', '(a', {}"},
    {"gsub", "'abc', '(a', function() end"},
    {"gsub", "'abc', 'x(', {}"},
    {"gsub", "'abc', 'x(', '%1'"},
    {"gsub", "'a,b', '%f[%w]', '|'"},
    {"gsub", "'a b c', '%s', '', 1"},
    {"gsub", "'THE (quick) fox', '%f[%a]%a+', '<%0>'"},
    {"gsub", "string.rep('ab', 50), 'a', 'x', 7"},
    {"gsub", "'x', 'x', REPL_T"},
    {"gsub", "'(', '%(', REPL_T"},
    {"gsub", "'cab', '%w', REPL_F"},
};

static void run_hand_list(const struct hand_case *c, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        hand(c[i].fname, c[i].args);
}

#define LIST(a) (a), sizeof (a) / sizeof (a)[0]

static void test_hand_classes_sets(void)
{
    run_hand_list(LIST(classes_sets));
}

static void test_hand_quantifiers_anchors(void)
{
    run_hand_list(LIST(quantifiers_anchors));
}

static void test_hand_specials_captures(void)
{
    run_hand_list(LIST(specials_captures));
}

static void test_hand_init_find_gmatch(void)
{
    run_hand_list(LIST(init_find));
}

static void test_hand_gsub(void)
{
    run_hand_list(LIST(gsub_cases));
}

/* Every letter after '%', alone, in a set and complemented, over all 256
** byte values: the classes must agree with Lua's byte for byte, and the
** other letters must be literals (or %b/%f errors). */
static void test_hand_every_class_letter(void)
{
    static const char *const forms[] = {
        "ALL, '%%%c+'", "ALL, '[%%%c]'", "ALL, '[^%%%c]+'",
        "ALL, '%%%c', '.'", "ALL, '[x%%%c-]', '.'"
    };
    const char *letters = "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    char args[64];
    size_t i, f;

    for (i = 0; letters[i] != '\0'; i++) {
        for (f = 0; f < 3; f++) {
            snprintf(args, sizeof args, forms[f], letters[i]);
            hand("*", args);
        }
        for (f = 3; f < 5; f++) {
            snprintf(args, sizeof args, forms[f], letters[i]);
            hand("gsub", args);
        }
    }
}

/* Run with string.find/match/gmatch/gsub replaced by ours in the real
** string table, as the sandbox does: method calls on strings, pcall of
** the function itself (named "string.find" by Lua's lookup of loaded
** modules) and error positions must read as with the real ones. */
static const char installed_probe[] =
    "local r = {}\n"
    "local function rec(ok, ...)\n"
    "  local t = table.pack(...)\n"
    "  for i = 1, t.n do t[i] = tostring(t[i]) end\n"
    "  r[#r + 1] = tostring(ok) .. ' ' .. table.concat(t, ',', 1, t.n)\n"
    "end\n"
    "rec(pcall(string.find, nil, 'a'))\n"
    "rec(pcall(string.gsub, 'a', 'a'))\n"
    "rec(pcall(string.gmatch, 'a', {}))\n"
    "rec(pcall(string.match, 'a', '%'))\n"
    "rec(pcall(string.find, 'abc', 'b', 1.5))\n"
    "rec(pcall(function() return ('abc'):find({}) end))\n"
    "rec(pcall(function() return ('abc'):gsub('b') end))\n"
    "rec(pcall(function() return ('abc'):gsub('b', 'x', 'y') end))\n"
    "rec(pcall(function() return ('abc'):match('(a') end))\n"
    "rec(pcall(function() return ('abc'):match('%f') end))\n"
    "rec(pcall(function() return ('hello world'):gsub('o', '0', 1) end))\n"
    "rec(pcall(function() local n = 0\n"
    "  for w in ('a b c'):gmatch('%a') do n = n + 1 end return n end))\n"
    "rec(pcall(function() return string.find('abc', '%') end))\n"
    "rec(pcall(function() local s = 'x' return s:rep(3):find('x', 2) end))\n"
    "rec(pcall(function() return ('x'):gsub('x', '%2') end))\n"
    "rec(pcall(function() return ('x'):gsub('x', {x = {}}) end))\n"
    "rec(pcall(function() local it = ('x'):gmatch('(x')\n"
    "  return it() end))\n"
    "return table.concat(r, '\\n')\n";

static const char *const swapped[4] = {"find", "match", "gmatch", "gsub"};

/* Puts ours (to_ours) or the saved originals back into string. */
static void swap_string_functions(int to_ours)
{
    int i;

    lua_getglobal(L, "string");
    for (i = 0; i < 4; i++) {
        if (to_ours) {
            lua_getfield(L, -1, swapped[i]);
            lua_setfield(L, LUA_REGISTRYINDEX, swapped[i]);
            lua_getglobal(L, "S");
            lua_getfield(L, -1, swapped[i]);
            lua_remove(L, -2);
        } else {
            lua_getfield(L, LUA_REGISTRYINDEX, swapped[i]);
        }
        lua_setfield(L, -2, swapped[i]);
    }
    lua_pop(L, 1);
}

static char *run_probe(void)
{
    char *out = NULL;

    if (luaL_loadbuffer(L, installed_probe, sizeof installed_probe - 1,
                        "=probe") == LUA_OK
        && lua_pcall(L, 0, 1, 0) == LUA_OK)
        out = strdup(lua_tostring(L, -1));
    else
        fprintf(stderr, "  probe: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
    return out;
}

static void test_installed_in_string_table(void)
{
    char *real = run_probe(), *ours;

    swap_string_functions(1);
    ours = run_probe();
    swap_string_functions(0);
    CHECK(real != NULL && ours != NULL);
    if (real != NULL && ours != NULL) {
        CHECK_STR(ours, real);
        CHECK(strstr(real, "bad argument #1 to 'find'") != NULL);
        CHECK(strstr(real, "probe:") != NULL);
    }
    free(real);
    free(ours);
}

/* ---- random cases ---------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)((rng >> 11) % n);
}

static const char *pick(const char *const *list, size_t n)
{
    return list[rnd((unsigned)n)];
}

struct sb {
    char d[1024];
    size_t n;
};

static void sb_add(struct sb *b, const char *s, size_t len)
{
    if (b->n + len < sizeof b->d) {
        memcpy(b->d + b->n, s, len);
        b->n += len;
    }
}

static void sb_str(struct sb *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

#define PICK(list) pick((list), sizeof (list) / sizeof (list)[0])

static void gen_set(struct sb *b)
{
    static const char *const first[] = {
        "a", "b", "c", "]", "-", "^", "%a", "%d", "%]", "a-c", "(", "%s"
    };
    static const char *const elem[] = {
        "a", "b", "c", "a-b", "b-a", "%a", "%d", "-", "%-", "%]", ".",
        "(", "a-", "%%", "%w", "%A", "^", "\0"
    };
    unsigned i, n = 1 + rnd(3);

    sb_str(b, rnd(4) == 0 ? "[^" : "[");
    sb_str(b, PICK(first));
    for (i = 1; i < n; i++) {
        const char *e = PICK(elem);
        sb_add(b, e, *e ? strlen(e) : 1);
    }
    sb_str(b, "]");
}

/* One single-character class, then maybe a quantifier. */
static void gen_single(struct sb *b)
{
    static const char *const cls[] = {
        "a", "a", "a", "b", "b", "c", "(", "-", ".", ".", "%a", "%d",
        "%s", "%w", "%p", "%l", "%u", "%x", "%c", "%g", "%z", "%A",
        "%S", "%W", "%D", "%.", "%%", "%(", "%)", "%[", "%]", "%-",
        "%^", "%$", "]", " ", "1"
    };
    static const char *const quant[] = {"", "", "", "*", "+", "-", "?"};

    if (rnd(6) == 0)
        gen_set(b);
    else
        sb_str(b, PICK(cls));
    sb_str(b, PICK(quant));
}

static void gen_items(struct sb *b, int depth, unsigned n);

static void gen_item(struct sb *b, int depth)
{
    static const char *const bal[] = {"%b()", "%bab", "%baa", "%b)("};
    static const char *const bad[] = {
        "%", "[a", "[", "%b", "%ba", "%fa", "%f", ")", "(", "[^", "[%",
        "%0", "%9"
    };
    static const char *const backref[] = {"%1", "%1", "%2", "%3"};
    unsigned k = rnd(40);

    if (k < 26) {
        gen_single(b);
    } else if (k < 30 && depth < 3) {
        sb_str(b, "(");
        gen_items(b, depth + 1, 1 + rnd(3));
        sb_str(b, ")");
    } else if (k < 31) {
        sb_str(b, "()");
    } else if (k < 33) {
        sb_str(b, PICK(bal));
    } else if (k < 35) {
        sb_str(b, "%f");
        gen_set(b);
    } else if (k < 37) {
        sb_str(b, PICK(backref));
    } else if (k < 38) {
        sb_str(b, rnd(2) ? "$" : "^");
    } else if (k < 39) {
        sb_str(b, PICK(bad));
    } else {
        gen_single(b);
    }
}

static void gen_items(struct sb *b, int depth, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++)
        gen_item(b, depth);
}

static void gen_pattern(struct sb *b)
{
    b->n = 0;
    if (rnd(5) == 0)
        sb_str(b, "^");
    gen_items(b, 0, rnd(6));
    if (rnd(5) == 0)
        sb_str(b, "$");
}

static void gen_subject(struct sb *b)
{
    static const char alpha[] = "aaaabbbcc(()[]-.%^$ 1A\0";
    unsigned i, n = rnd(13);

    b->n = 0;
    for (i = 0; i < n; i++)
        sb_add(b, &alpha[rnd(sizeof alpha)], 1);
}

/* A printable form of a random case for mismatch reports. */
static void describe(char *out, size_t size, const char *fn,
                     const struct sb *s, const struct sb *p, int extra)
{
    snprintf(out, size, "%s(%.*s, %.*s) extra %d", fn, (int)s->n, s->d,
             (int)p->n, p->d, extra);
}

static void push_init(int v)
{
    if (v == 100)
        lua_pushnil(L);
    else
        lua_pushinteger(L, v);
}

/* One random (subject, pattern) through one function, with random
** init, plain flag, replacement and limit. */
static void random_case(int fn, const struct sb *s, const struct sb *p)
{
    char desc[700];
    int init = rnd(3) == 0 ? (int)rnd(31) - 15 : 100;
    int nargs = 2;

    if (fn != 3)
        lua_pushstring(L, fnames[fn]);
    lua_pushlstring(L, s->d, s->n);
    lua_pushlstring(L, p->d, p->n);
    if (fn == 3) {
        struct sb r;
        static const char *const rp[] = {
            "x", "%0", "%1", "%2", "%%", "[%1]", "%", "%x", "()"
        };
        unsigned kind = rnd(5), lim = rnd(8);
        r.n = 0;
        sb_str(&r, PICK(rp));
        sb_str(&r, PICK(rp));
        lua_pushinteger(L, kind);
        lua_pushlstring(L, r.d, r.n);
        if (lim < 5)
            lua_pushinteger(L, (lua_Integer)lim - 1);
        else
            lua_pushnil(L);
        describe(desc, sizeof desc, "gsub", s, p, (int)(kind * 10 + lim));
        compare(ref_rand_gsub, 5, desc);
        random_count[fn]++;
        return;
    }
    push_init(init);
    nargs++;
    if (fn == 0 && rnd(4) == 0) {
        lua_pushboolean(L, 1);
        nargs++;
    }
    describe(desc, sizeof desc, fnames[fn], s, p, init);
    compare(ref_check, nargs + 1, desc);
    random_count[fn]++;
}

/* -DRANDOM_CASES=n for a longer hunt; STRMATCH_SEED=n in the
** environment for another (still reproducible) sequence. */
#ifndef RANDOM_CASES
#define RANDOM_CASES 12000
#endif

static void test_random_differential(void)
{
    struct sb s, p;
    int i, fn;

    for (i = 0; i < RANDOM_CASES; i++) {
        gen_subject(&s);
        gen_pattern(&p);
        for (fn = 0; fn < 4; fn++)
            random_case(fn, &s, &p);
    }
}

/* Random cases where the subject is built from the pattern's own
** characters, so more patterns match deep into the subject. */
static void test_random_self_subjects(void)
{
    struct sb s, p;
    size_t j;
    int i, fn;

    for (i = 0; i < RANDOM_CASES / 4; i++) {
        gen_pattern(&p);
        s.n = 0;
        for (j = 0; j < p.n && s.n < 14; j++)
            if (rnd(3) != 0)
                sb_add(&s, &p.d[j], 1);
        for (fn = 0; fn < 4; fn++)
            random_case(fn, &s, &p);
    }
}

/* Long patterns of items that never fail, so the first path is the
** only one (no exponential backtracking) yet nests past the 200-level
** limit some of the time: "pattern too complex" must come at the same
** point as in Lua, and captures must open and close alike. */
static void test_random_deep(void)
{
    static const char *const items[] = {
        "a?", "a*", "a-", ".?", "()", "a?", "x?", "x*", "[a]-"
    };
    struct sb p, s;
    unsigned n, i, k, open;
    int fn, c;

    for (c = 0; c < 600; c++) {
        p.n = 0;
        open = 0;
        n = 60 + rnd(200);
        for (i = 0; i < n; i++) {
            k = rnd(12);
            if (k < 9) {
                sb_str(&p, items[k]);
            } else if (k < 11 && open < 31) {
                sb_str(&p, "(");
                open++;
            } else if (open > 0) {
                sb_str(&p, ")");
                open--;
            }
        }
        for (; open > 0; open--)
            sb_str(&p, ")");
        s.n = rnd(300);
        memset(s.d, 'a', s.n);
        for (fn = 0; fn < 4; fn++)
            random_case(fn, &s, &p);
    }
}

/* ---- the deadline ---------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct deadline {
    double start, limit, fired_at, max_gap, last;
    long calls;
    int fired;
};

static int deadline_poll(void *ud)
{
    struct deadline *d = ud;
    double t = now_ms();

    d->calls++;
    if (t - d->last > d->max_gap)
        d->max_gap = t - d->last;
    d->last = t;
    if (t - d->start >= d->limit) {
        if (!d->fired)
            d->fired_at = t;
        d->fired = 1;
        return 1;
    }
    return 0;
}

static void deadline_start(struct deadline *d, double limit_ms)
{
    memset(d, 0, sizeof *d);
    d->start = d->last = now_ms();
    d->limit = limit_ms;
}

/* The V4 pattern from reliability-anchors 6.2: ~2 s in Lua's own find.
** Ours must come back with STRMATCH_ABORTED once the poll says stop. */
static void test_pathological_aborts_engine(void)
{
    const char *pat = ".-.-.-.-.-.-.-.-.-.-b";
    char subj[22];
    struct strmatch_state st;
    struct deadline d;
    size_t b, e;
    double end;
    int rc;

    memset(subj, 'a', sizeof subj);
    deadline_start(&d, 100);
    strmatch_init(&st, subj, sizeof subj, pat, strlen(pat),
                  deadline_poll, &d);
    rc = strmatch_search(&st, 0, &b, &e);
    end = now_ms();
    CHECK_INT(rc, STRMATCH_ABORTED);
    CHECK(d.fired);
    CHECK(d.calls > 1);
    CHECK_INT(st.err, STRMATCH_E_ABORTED);
    printf("ok V4 engine: stopped %.1f ms after start (deadline 100 ms),"
           " %.3f ms after the poll said stop; %ld polls, max gap %.3f ms\n",
           end - d.start, end - d.fired_at, d.calls, d.max_gap);
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);

    return n >= m && memcmp(s + n - m, tail, m) == 0;
}

/* The same through Lua: each of the four functions raises the abort
** message (with the caller's position, as luaL_error adds it), and the
** poll is looked up at call time (gmatch too). */
static void test_pathological_aborts_binding(void)
{
    static const char *const calls[] = {
        "return S.find(string.rep('a', 22), V4)",
        "return S.match(string.rep('a', 22), V4)",
        "return S.gsub(string.rep('a', 22), V4, 'x')",
        "return IT()",
    };
    struct deadline d;
    const char *msg;
    double end;
    size_t i;

    /* made before the poll is set: it must use the one set later */
    CHECK(luaL_dostring(L, "V4 = string.rep('.-', 10) .. 'b'\n"
                           "IT = S.gmatch(string.rep('a', 22), V4)")
          == LUA_OK);
    for (i = 0; i < 4; i++) {
        deadline_start(&d, 100);
        lstrmatch_set_poll(deadline_poll, &d);
        CHECK(luaL_loadstring(L, calls[i]) == LUA_OK);
        CHECK(lua_pcall(L, 0, 0, 0) == LUA_ERRRUN);
        end = now_ms();
        msg = lua_tostring(L, -1);
        CHECK(msg != NULL && ends_with(msg, ":1: " STRMATCH_ABORT_MSG));
        lua_pop(L, 1);
        CHECK(d.fired);
        printf("ok V4 %s via Lua: error after %.1f ms, %.3f ms after the"
               " poll said stop\n", i == 0 ? "find" : i == 1 ? "match" :
               i == 2 ? "gsub" : "gmatch", end - d.start,
               end - d.fired_at);
    }
    lstrmatch_set_poll(NULL, NULL);
}

static jmp_buf poll_escape;

static int jumping_poll(void *ud)
{
    if (++*(long *)ud == 3)
        longjmp(poll_escape, 1);
    return 0;
}

/* strmatch.h promises the matcher holds nothing a longjmp out of the
** poll callback would leak (ASan checks the leak part), and that the
** state can be matched with again afterwards. */
static void test_longjmp_out_of_poll(void)
{
    static const char pat[] = ".-.-.-.-.-.-.-.-.-.-b";
    static char subj[22];
    static struct strmatch_state st;
    static long calls;
    size_t b, e;

    memset(subj, 'a', sizeof subj);
    strmatch_init(&st, subj, sizeof subj, pat, sizeof pat - 1,
                  jumping_poll, &calls);
    if (setjmp(poll_escape) == 0) {
        strmatch_search(&st, 0, &b, &e);
        CHECK(0);
    }
    CHECK_INT(calls, 3);
    strmatch_init(&st, subj, sizeof subj, "a+$", 3, NULL, NULL);
    CHECK_INT(strmatch_search(&st, 0, &b, &e), STRMATCH_OK);
    CHECK(b == 0 && e == sizeof subj);
}

static int count_poll(void *ud)
{
    (*(long *)ud)++;
    return 0;
}

/* A linear match over n bytes costs about n units: polls must come
** every STRMATCH_POLL_UNITS of them, no rarer and not much more often. */
static void test_poll_frequency(void)
{
    size_t n = (size_t)8 << 20, b, e;
    char *subj = malloc(n);
    struct strmatch_state st;
    struct deadline d;
    long polls = 0, expect = (long)(n / (STRMATCH_POLL_UNITS + 1));
    double t0;

    CHECK(subj != NULL);
    if (subj == NULL)
        return;
    memset(subj, 'a', n);
    strmatch_init(&st, subj, n, ".*", 2, count_poll, &polls);
    CHECK_INT(strmatch_search(&st, 0, &b, &e), STRMATCH_OK);
    CHECK_INT(e, n);
    CHECK(polls >= expect && polls <= expect + 2);
    CHECK_INT(st.polls, polls);
    deadline_start(&d, 1e9);
    t0 = now_ms();
    strmatch_init(&st, subj, n, "%a-$", 4, deadline_poll, &d);
    CHECK_INT(strmatch_search(&st, 0, &b, &e), STRMATCH_OK);
    printf("ok polls: '.*' over 8 MiB: %ld polls (expected %ld);"
           " '%%a-$': %ld polls in %.1f ms, max gap %.3f ms\n",
           polls, expect, d.calls, now_ms() - t0, d.max_gap);
    CHECK(d.calls >= (long)(n / (STRMATCH_POLL_UNITS + 1)));
    free(subj);
}

/* gsub over 1 MiB through the binding polls at least once per
** STRMATCH_POLL_UNITS bytes of subject. */
static void test_poll_through_binding(void)
{
    long polls = 0;

    lstrmatch_set_poll(count_poll, &polls);
    CHECK(luaL_dostring(L, "local s = string.rep('ab ', 349526)\n"
                           "local r, n = S.gsub(s, '%a+', '%0!')\n"
                           "assert(n == 349526 and #r == #s + n)")
          == LUA_OK);
    lstrmatch_set_poll(NULL, NULL);
    CHECK(polls >= (long)(3 * 349526 / STRMATCH_POLL_UNITS));
    printf("ok polls: gsub over 1 MiB: %ld polls\n", polls);
}

/* ---- the C API directly ---------------------------------------------- */

static int engine_search(const char *s, const char *p, size_t *b,
                         size_t *e, struct strmatch_state *st)
{
    strmatch_init(st, s, strlen(s), p, strlen(p), NULL, NULL);
    return strmatch_search(st, 0, b, e);
}

static void test_engine_api(void)
{
    struct strmatch_state st;
    struct strmatch_span c;
    char buf[32];
    size_t b, e, pos;

    CHECK_INT(engine_search("xx(a)()", "%((%a)%)()", &b, &e, &st),
              STRMATCH_OK);
    CHECK_INT(b, 2);
    CHECK_INT(e, 5);
    CHECK_INT(strmatch_capture_count(&st, 1), 2);
    CHECK_INT(strmatch_capture(&st, 0, b, e, &c), STRMATCH_OK);
    CHECK(c.start == 3 && c.len == 1 && !c.is_position);
    CHECK_INT(strmatch_capture(&st, 1, b, e, &c), STRMATCH_OK);
    CHECK(c.start == 5 && c.is_position);
    CHECK_INT(strmatch_capture(&st, 2, b, e, &c), STRMATCH_ERROR);
    CHECK_STR(strmatch_errmsg(&st, buf, sizeof buf),
              "invalid capture index %3");
    CHECK_INT(engine_search("abc", "b(", &b, &e, &st), STRMATCH_OK);
    CHECK_INT(strmatch_capture(&st, 0, b, e, &c), STRMATCH_ERROR);
    CHECK_STR(strmatch_errmsg(&st, buf, sizeof buf), "unfinished capture");
    CHECK_INT(engine_search("abc", "b%", &b, &e, &st), STRMATCH_ERROR);
    CHECK_STR(strmatch_errmsg(&st, buf, sizeof buf),
              "malformed pattern (ends with '%')");
    CHECK_INT(engine_search("abc", "x%", &b, &e, &st), STRMATCH_NOMATCH);
    CHECK(!strmatch_has_specials("a)]\0b", 5));
    CHECK(strmatch_has_specials("a\0.", 3));
    CHECK_INT(strmatch_find_plain("a\0b\0c", 5, "\0c", 2, 0, &pos),
              STRMATCH_OK);
    CHECK_INT(pos, 3);
    CHECK_INT(strmatch_find_plain("abc", 3, "", 0, 3, &pos), STRMATCH_OK);
    CHECK_INT(pos, 3);
    CHECK_INT(strmatch_find_plain("abc", 3, "c", 1, 3, &pos),
              STRMATCH_NOMATCH);
}

/* ---- setup ----------------------------------------------------------- */

static void setup(void)
{
    const char *seed = getenv("STRMATCH_SEED");

    if (seed != NULL && strtoull(seed, NULL, 10) != 0)
        rng = strtoull(seed, NULL, 10);
    printf("ok random seed %llu\n", (unsigned long long)rng);
    L = luaL_newstate();
    if (L == NULL)
        exit(2);
    luaL_openlibs(L);
    /* Not through luaL_requiref: a function found in package.loaded
    ** under two names would be named either way in argument errors. */
    lua_pushcfunction(L, luaopen_clawhost_strmatch);
    lua_call(L, 0, 1);
    lua_setglobal(L, "S");
    if (luaL_loadbuffer(L, harness, sizeof harness - 1, "=harness")
        != LUA_OK) {
        fprintf(stderr, "harness: %s\n", lua_tostring(L, -1));
        exit(2);
    }
    lua_getglobal(L, "string");
    lua_getglobal(L, "S");
    if (lua_pcall(L, 2, 3, 0) != LUA_OK) {
        fprintf(stderr, "harness: %s\n", lua_tostring(L, -1));
        exit(2);
    }
    ref_rand_gsub = luaL_ref(L, LUA_REGISTRYINDEX);
    ref_hand = luaL_ref(L, LUA_REGISTRYINDEX);
    ref_check = luaL_ref(L, LUA_REGISTRYINDEX);
}

int main(void)
{
    setup();
    RUN(test_engine_api);
    RUN(test_hand_classes_sets);
    RUN(test_hand_quantifiers_anchors);
    RUN(test_hand_specials_captures);
    RUN(test_hand_init_find_gmatch);
    RUN(test_hand_gsub);
    RUN(test_hand_every_class_letter);
    RUN(test_installed_in_string_table);
    RUN(test_random_differential);
    RUN(test_random_self_subjects);
    RUN(test_random_deep);
    RUN(test_pathological_aborts_engine);
    RUN(test_pathological_aborts_binding);
    RUN(test_longjmp_out_of_poll);
    RUN(test_poll_frequency);
    RUN(test_poll_through_binding);
    printf("ok differential: %d hand cases; random cases find %d, match %d,"
           " gmatch %d, gsub %d; %d mismatches\n", hand_count,
           random_count[0], random_count[1], random_count[2],
           random_count[3], mismatches);
    printf("ok outcomes: %d with values, %d no match, %d errors\n",
           outcomes[0], outcomes[1], outcomes[2]);
    lua_close(L);
    return unit_done("strmatch");
}
