/*
** run.c -- one run of one recipe.
**
** setup (load the recipe, parse its params, build ctx, start run() as
** the main task) -> the loop -> cleanup (unfinished tasks are stopped,
** their <close> values run, then ctx.defer functions, last first, each
** as a task under the cleanup deadline) -> the result or the error ->
** the exit status of DESIGN section 7. Cleanup runs whatever ended the
** run: success, error, deadline, memory, policy or a signal.
*/
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "cli/hint.h"
#include "cli/params.h"
#include "cli/recipe.h"
#include "cli/result.h"
#include "cli/run.h"
#include "lib/json.h"
#include "runtime/ctx.h"
#include "runtime/err.h"
#include "runtime/init.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/out.h"
#include "runtime/rt.h"
#include "sandbox/sandbox.h"

struct run {
    const struct recipe_ref *ref;
    int argc;
    char **argv;
    int help;
    struct task *main;
    int cleanup_failed;
};

static int setup(lua_State *L)
{
    struct run *rn = lua_touserdata(L, 1);
    lua_settop(L, 0);
    recipe_load(L, rn->ref, rn->help);          /* 1: the recipe */
    if (rn->help && rt_get()->opt.json) {   /* for agents that build
                                            ** calls: the params as data */
        params_push_data(L, 1, rn->ref->name);
        json_encode_value(L, -1, JSON_PRETTY);
        lua_pushliteral(L, "\n");
        lua_concat(L, 2);
        return 1;
    }
    if (rn->help) {
        params_push_help(L, 1, rn->ref->name);
        return 1;
    }
    lua_getfield(L, 1, "params");               /* 2 */
    lua_newtable(L);                            /* 3: inputs */
    params_parse(L, 2, 3, rn->argc, rn->argv, rn->ref->name);   /* 4 */
    ctx_push(L, 4, 3, rn->ref->name);           /* 5: ctx */
    lua_getfield(L, 1, "run");
    lua_pushvalue(L, 5);
    lua_pushvalue(L, 4);
    rn->main = loop_spawn(L, 2);
    loop_task_retain(rn->main);
    return 0;
}

static int exit_for_fatal(int kind)
{
    switch (kind) {
    case RT_DEADLINE: return EXIT_DEADLINE;
    case RT_POLICY: return EXIT_POLICY;
    case RT_CANCEL: return EXIT_INTERRUPTED;
    default: return EXIT_FAILED;
    }
}

/*
** Print an error value: its one message, the detail with --verbose, and
** last what to do (hint.c); returns the status.
*/
static int report_error(lua_State *L, int idx, int with_json)
{
    idx = lua_absindex(L, idx);
    const char *code = err_code(L, idx);
    const char *msg = err_describe(L, idx);
    const char *hint = hint_for(L, idx);
    int status = err_exit_status(code);
    log_progress_clear();
    log_msgf(LOG_ERROR, "%s%s", status == EXIT_POLICY ?
             "refused by policy: " : "", msg);
    hint_log_detail(L, idx);
    if (hint)
        log_hint(hint);
    if (with_json && rt_get()->opt.json)
        result_print_json_error(L, code ? code : "error", msg);
    lua_pop(L, 1);
    return status;
}

/* --verbose shows where a raised error came from. */
static void log_traceback(lua_State *L, struct task *t)
{
    loop_task_traceback(t, L);
    if (lua_isstring(L, -1))
        log_msgf(LOG_DEBUG, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
}

/* Runs protected after cleanup: prints the result, returns status. */
static int report(lua_State *L)
{
    struct run *rn = lua_touserdata(L, 1);
    struct rt *r = rt_get();
    int ok, n, status;
    lua_settop(L, 0);
    if (r->run_fatal) {
        lua_pushinteger(L, exit_for_fatal(r->run_fatal));
        return 1;
    }
    n = loop_task_results(rn->main, L, &ok);
    if (!ok) {
        log_traceback(L, rn->main);
        lua_pushinteger(L, report_error(L, 1, 1));
        return 1;
    }
    lua_settop(L, n < 2 ? 2 : n);
    lua_settop(L, 2);                    /* result, err */
    /* A second value is an error when it is one (`return report, err`)
    ** or when the first is nil (`return nil, "why"`); `return s:gsub()`
    ** returning a count is a result. */
    if (!lua_isnil(L, 1) && !err_is(L, 2) &&
        lua_type(L, 2) != LUA_TSTRING) {
        lua_pushnil(L);
        lua_replace(L, 2);
    }
    if (lua_isnil(L, 2)) {
        result_print(L, 1, r->opt.json);
        lua_pushinteger(L, EXIT_OK);
        return 1;
    }
    /* run returned result, err: show both, fail with err's status */
    status = err_exit_status(err_code(L, 2));
    if (r->opt.json && lua_istable(L, 1)) {
        lua_pushvalue(L, 2);
        lua_setfield(L, 1, "error");
    }
    if (!lua_isnil(L, 1))
        result_print(L, 1, r->opt.json);
    report_error(L, 2, lua_isnil(L, 1));
    lua_pushinteger(L, status);
    return 1;
}

static int run_phases(lua_State *L, struct run *rn);

static void say_fatal(lua_State *L)
{
    struct rt *r = rt_get();
    const char *codes[] = {"", "deadline", "memory", "policy", "cancelled",
                           "stuck"};
    const char *hint = hint_for_fatal(r->fatal);
    log_progress_clear();
    log_msgf(LOG_ERROR, "%s%s", r->fatal == RT_POLICY ?
             "refused by policy: " : "", r->fatal_msg);
    if (hint)
        log_hint(hint);
    if (r->opt.json)
        result_print_json_error(L, codes[r->fatal], r->fatal_msg);
}

/* ---- finalizers at the end ---- */

static int spawn_close_finalizers(lua_State *L)
{
    struct task **out = lua_touserdata(L, 1);
    sandbox_close_finalizers(L);
    *out = loop_spawn(L, 0);
    loop_task_retain(*out);
    return 0;
}

/*
** When run() has returned, the finalizers (__gc) of recipe tables run,
** as Lua would run them at close, but now: as a task, under the run's
** deadline and with hooks, so one that never returns ends the run at
** its deadline and deferred cleanup still runs (docs/security.md).
*/
static void close_finalizers(lua_State *L)
{
    struct task *t = NULL;
    lua_pushcfunction(L, spawn_close_finalizers);
    lua_pushlightuserdata(L, &t);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK || !t) {
        rt_note_error(L, LUA_ERRRUN);
        lua_settop(L, 0);
        return;
    }
    loop_run(t);
    loop_task_release(t);
}

/* ---- cleanup ---- */

static int spawn_deferred(lua_State *L)
{
    struct task **out = lua_touserdata(L, 1);
    *out = NULL;
    if (ctx_pop_deferred(L)) {
        *out = loop_spawn(L, 0);
        loop_task_retain(*out);
    }
    return 0;
}

/* One deferred function as a task; 0 when there was none left. */
static int run_one_deferred(lua_State *L, struct run *rn)
{
    struct task *t = NULL;
    int ok;
    lua_pushcfunction(L, spawn_deferred);
    lua_pushlightuserdata(L, &t);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK || !t) {
        lua_settop(L, 0);
        return 0;
    }
    loop_run(t);
    struct rt *r = rt_get();
    if (loop_task_done(t)) {
        loop_task_results(t, L, &ok);
        if (!ok)
            log_msgf(LOG_ERROR, "cleanup function failed: %s%s",
                     r->fatal == RT_POLICY ? "refused by policy: " : "",
                     err_describe(L, -1));
        lua_settop(L, 0);
    } else if (r->fatal) {
        ok = 0;
        log_msgf(LOG_ERROR, "cleanup function stopped: %s",
                 r->fatal_msg);
    } else {
        ok = 1;
    }
    if (!ok && !rn->cleanup_failed)
        rn->cleanup_failed = EXIT_FAILED;
    loop_task_release(t);
    return 1;
}

/*
** A deferred function that breaks the sandbox or the memory cap fails,
** but the others still run: they may release something that costs
** money. Only the cleanup deadline or another signal stops cleanup.
*/
static int survive_breach(struct run *rn)
{
    struct rt *r = rt_get();
    if (r->fatal != RT_POLICY && r->fatal != RT_MEMORY)
        return 0;
    rn->cleanup_failed = r->fatal == RT_POLICY ? EXIT_POLICY : EXIT_FAILED;
    loop_abandon();
    rt_clear_fatal();
    return 1;
}

static void cleanup(lua_State *L, struct run *rn)
{
    struct rt *r = rt_get();
    int left = loop_abandoned_count();
    rt_begin_phase(RT_CLEANUP, r->opt.cleanup_timeout_s);
    rt_watchdog(r->opt.cleanup_timeout_s, exit_for_fatal(r->run_fatal));
    rt_clear_signal();
    if (left > 0 && !r->run_fatal)
        log_msgf(LOG_WARN, "%d task%s still running when run() returned; "
                 "stopped (wait for tasks you spawn)", left,
                 left > 1 ? "s were" : " was");
    loop_abandon();
    loop_report_unobserved();
    lua_pushcfunction(L, sbcoro_close_all);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK)
        lua_pop(L, 1);          /* a limit: the loop below sees it */
    while ((!r->fatal || survive_breach(rn)) && run_one_deferred(L, rn))
        ;
    if (r->fatal && !survive_breach(rn)) {
        log_msgf(LOG_ERROR, "cleanup stopped: %s; deferred cleanup that "
                 "did not run is lost", r->fatal_msg);
        rn->cleanup_failed = EXIT_FAILED;
        loop_abandon();
    }
    loop_report_unobserved();
    rt_watchdog(0, 0);
    r->phase = RT_FINISHED;
}

int run_recipe(const struct rt_options *opt, const char *root,
               const char *arg, int argc, char **argv, int help)
{
    struct recipe_ref ref;
    struct run rn = {&ref, argc, argv, help, NULL, 0};
    char err[1024];
    int status;
    if (recipe_resolve(root, arg, &ref, err, sizeof err) != 0) {
        out_printf(OUT_STDERR, "clawhost: %s\n", err);
        return EXIT_USAGE;
    }
    if (init_start(opt, root, err, sizeof err) != 0) {
        out_printf(OUT_STDERR, "clawhost: %s\n", err);
        init_stop();
        return EXIT_FAILED;
    }
    struct rt *r = rt_get();
    lua_State *L = r->L;
    snprintf(r->recipe_dir, sizeof r->recipe_dir, "%s", ref.dir);
    snprintf(r->recipe_name, sizeof r->recipe_name, "%s", ref.name);
    status = run_phases(L, &rn);
    r->exit_status = status;
    out_flush_all();
    init_stop();
    return status;
}

static int setup_failed(lua_State *L)
{
    struct rt *r = rt_get();
    int status;
    if (r->fatal) {
        say_fatal(L);
        status = exit_for_fatal(r->fatal);
    } else {
        status = report_error(L, -1, 1);
    }
    lua_settop(L, 0);
    return status;
}

static int run_phases(lua_State *L, struct run *rn)
{
    struct rt *r = rt_get();
    int status;
    r->phase = RT_SETUP;
    rt_watchdog(r->opt.timeout_s, EXIT_DEADLINE);
    lua_pushcfunction(L, setup);
    lua_pushlightuserdata(L, rn);
    int st = lua_pcall(L, 1, 1, 0);
    if (st != LUA_OK)
        rt_note_error(L, st);
    if (st != LUA_OK) {
        rt_watchdog(0, 0);
        return setup_failed(L);
    }
    if (rn->help) {
        rt_watchdog(0, 0);
        out_printf(OUT_STDOUT, "%s", lua_tostring(L, -1));
        return EXIT_OK;
    }
    lua_settop(L, 0);
    r->phase = RT_RUNNING;
    loop_task_observe(rn->main);             /* report() tells its outcome */
    loop_run(rn->main);
    if (!r->fatal)
        close_finalizers(L);
    if (r->fatal)
        say_fatal(L);
    cleanup(L, rn);
    lua_pushcfunction(L, report);
    lua_pushlightuserdata(L, rn);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        log_msgf(LOG_ERROR, "cannot report the result: %s",
                 err_describe(L, -1));
        status = EXIT_FAILED;
    } else {
        status = (int)lua_tointeger(L, -1);
    }
    lua_settop(L, 0);
    loop_task_release(rn->main);
    if (status == EXIT_OK && rn->cleanup_failed)
        status = rn->cleanup_failed;
    return status;
}
