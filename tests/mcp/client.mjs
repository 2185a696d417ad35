// client.mjs -- drive an MCP stdio server (clawhost mcp) with the official
// MCP TypeScript SDK client, as tests/e2e/mcp_sdk_test.py asks, and print
// one JSON report on stdout.
//
//   node tests/mcp/client.mjs SCENARIO.json     (or the scenario on stdin)
//
// The scenario (every field but "command" optional):
//   command, args, env, cwd   the server process (env replaces ours whole)
//   raw_stdout                a file: the server's stdout is also copied
//                             there byte for byte (through /usr/bin/tee),
//                             with its exit status in FILE.rc
//   elicitation               null: no elicitation capability; else
//                             {"action": "accept"|"decline"|"cancel",
//                              "content": {...}}: the client declares the
//                             form mode and answers every request so; an
//                             accept without content fills the requested
//                             schema from its defaults (booleans true)
//   protocol_version          the revision initialize asks for (default:
//                             the SDK's latest, 2025-11-25)
//   list_tools                true: tools/list (every page) into the report
//   schemas                   true: compile each tool's inputSchema and
//                             outputSchema with Ajv (draft 2020-12) and
//                             meta-validate it; the verdicts in the report
//   instances                 [{"tool", "value"}]: validate these argument
//                             objects against the tool's inputSchema
//   batches                   [[call, ...], ...]: the calls of a batch run
//                             concurrently, batches one after another
//     call: {"id", "name", "arguments", "progress": bool (onprogress, so
//            a progressToken is sent), "timeout_ms" (the SDK's request
//            timeout; default 120000), "cancel": {"after_ms": N,
//            "on_progress": true | "regex on the message",
//            "when_file": PATH (polled every 20 ms)}}
//   wait_after_ms             keep the connection open this long after the
//                             last batch (to see late notifications)
//
// The report: server info and capabilities, the tools, the schema
// verdicts, per call its result or error, its progress notifications and
// times, the elicitation requests seen, every message both ways, and the
// server's stderr. The driver never sends secrets anywhere but to the
// server it spawns; the report holds what the server said.
import { readFileSync, existsSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from
    "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema, LoggingMessageNotificationSchema } from
    "@modelcontextprotocol/sdk/types.js";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const T0 = Date.now();
const now = () => Date.now() - T0;

function readScenario() {
    const arg = process.argv[2];
    const text = arg && arg !== "-" ? readFileSync(arg, "utf8")
                                    : readFileSync(0, "utf8");
    return JSON.parse(text);
}

// The server process: the command itself, or the command under sh with
// its stdout copied to a file by tee (the bytes the client reads are the
// bytes tee read), and its exit status written beside it.
function serverParams(sc) {
    const base = { env: sc.env ?? {}, cwd: sc.cwd, stderr: "pipe" };
    if (!sc.raw_stdout) {
        return { ...base, command: sc.command, args: sc.args ?? [] };
    }
    const script = 'out=$1; shift; { "$@"; echo $? >"$out.rc"; } | ' +
                   '/usr/bin/tee -- "$out"';
    return { ...base, command: "/bin/sh",
             args: ["-c", script, "sh", sc.raw_stdout, sc.command,
                    ...(sc.args ?? [])] };
}

// Every JSON-RPC message both ways, in order, with its time. With
// `version`, the initialize request asks for that protocol revision
// instead of the SDK's latest (the SDK accepts any revision it supports
// in the answer).
function recordMessages(transport, log, version) {
    const send = transport.send.bind(transport);
    transport.send = (msg, opts) => {
        if (version && msg.method === "initialize")
            msg = { ...msg, params: { ...msg.params,
                                      protocolVersion: version } };
        log.push({ t: now(), dir: "out", msg });
        return send(msg, opts);
    };
    let handler;
    Object.defineProperty(transport, "onmessage", {
        configurable: true,
        get: () => handler && ((msg, extra) => {
            log.push({ t: now(), dir: "in", msg });
            return handler(msg, extra);
        }),
        set: (fn) => { handler = fn; },
    });
}

// An accept answer for a form: the defaults the server offered, booleans
// true (a confirmation), the first enum value, else an empty string or
// the minimum.
function fillForm(schema) {
    const content = {};
    for (const [k, p] of Object.entries(schema?.properties ?? {})) {
        if (p.default !== undefined) content[k] = p.default;
        else if (p.type === "boolean") content[k] = true;
        else if (Array.isArray(p.enum)) content[k] = p.enum[0];
        else if (p.type === "number" || p.type === "integer")
            content[k] = p.minimum ?? 0;
        else if (p.type === "string") content[k] = "";
    }
    return content;
}

function makeAjv() {
    const ajv = new Ajv2020({ strict: false, allErrors: true,
                              validateSchema: false });
    addFormats(ajv);
    return ajv;
}

// Strict mode lists what Ajv would flag in a schema (unknown keywords,
// types that do not fit their keywords, ...); reported, not fatal.
function strictWarnings(schema) {
    const warnings = [];
    const logger = { log() {}, warn: (m) => warnings.push(String(m)),
                     error: (m) => warnings.push(String(m)) };
    const ajv = new Ajv2020({ strict: "log", logger, validateSchema: false });
    addFormats(ajv);
    try { ajv.compile(schema); } catch (e) { warnings.push(e.message); }
    return warnings;
}

function checkSchema(ajv, schema) {
    if (schema === undefined) return null;
    const v = { meta_valid: false, compiles: false, errors: [],
                strict_warnings: [] };
    try {
        v.meta_valid = ajv.validateSchema(schema) === true;
        if (!v.meta_valid) v.errors.push(ajv.errorsText(ajv.errors));
    } catch (e) { v.errors.push("meta: " + e.message); }
    try { ajv.compile(schema); v.compiles = true; }
    catch (e) { v.errors.push("compile: " + e.message); }
    v.strict_warnings = strictWarnings(schema);
    v.declares_schema = schema.$schema ?? null;
    return v;
}

async function listAllTools(client) {
    const tools = [];
    let cursor;
    do {
        const page = await client.listTools(cursor ? { cursor } : undefined);
        tools.push(...page.tools);
        cursor = page.nextCursor;
    } while (cursor);
    return tools;
}

function errorReport(e) {
    return { name: e?.name ?? null, code: e?.code ?? null,
             message: String(e?.message ?? e), data: e?.data ?? null };
}

// One tools/call with its progress and its cancellation triggers.
async function runCall(client, call) {
    const rec = { id: call.id ?? call.name, name: call.name,
                  started_ms: now(), progress: [], cancelled_at_ms: null };
    const ctl = new AbortController();
    const timers = [];
    const cancel = (why) => {
        if (rec.cancelled_at_ms === null) {
            rec.cancelled_at_ms = now();
            rec.cancelled_by = why;
            ctl.abort(new Error("cancelled by the test: " + why));
        }
    };
    const c = call.cancel ?? {};
    if (c.after_ms !== undefined)
        timers.push(setTimeout(() => cancel("after_ms"), c.after_ms));
    if (c.when_file)
        timers.push(setInterval(() => {
            if (existsSync(c.when_file)) cancel("when_file");
        }, 20));
    const match = typeof c.on_progress === "string"
        ? new RegExp(c.on_progress) : null;
    const opts = { signal: ctl.signal, timeout: call.timeout_ms ?? 120000 };
    if (call.progress || c.on_progress) {
        opts.onprogress = (p) => {
            rec.progress.push({ t: now(), ...p });
            if (c.on_progress === true ||
                (match && match.test(p.message ?? ""))) cancel("progress");
        };
    }
    try {
        rec.result = await client.callTool(
            { name: call.name, arguments: call.arguments ?? {} },
            undefined, opts);
    } catch (e) {
        rec.error = errorReport(e);
    } finally {
        timers.forEach(clearTimeout);
        timers.forEach(clearInterval);
        rec.ended_ms = now();
    }
    return rec;
}

async function main() {
    const sc = readScenario();
    const report = { messages: [], elicitations: [], logs: [], calls: [],
                     stderr: "" };
    const capabilities = {};
    if (sc.elicitation) capabilities.elicitation = { form: {} };
    const client = new Client({ name: "clawhost-mcp-sdk-test",
                                version: "1.0.0" }, { capabilities });
    if (sc.elicitation) {
        client.setRequestHandler(ElicitRequestSchema, async (req) => {
            const p = req.params;
            const answer = { action: sc.elicitation.action };
            if (answer.action === "accept")
                answer.content = sc.elicitation.content ??
                                 fillForm(p.requestedSchema);
            report.elicitations.push({ t: now(), params: p, answer });
            return answer;
        });
    }
    client.setNotificationHandler(LoggingMessageNotificationSchema,
        (n) => { report.logs.push({ t: now(), ...n.params }); });

    const transport = new StdioClientTransport(serverParams(sc));
    const chunks = [];
    transport.stderr.on("data", (b) => chunks.push(Buffer.from(b)));
    recordMessages(transport, report.messages, sc.protocol_version);
    const closed = new Promise((res) => {
        const prev = transport.onclose;
        transport.onclose = () => { prev?.(); res(); };
    });
    try {
        await client.connect(transport, { timeout: 30000 });
        const init = report.messages.find(
            (m) => m.dir === "in" && m.msg.id !== undefined && m.msg.result);
        report.protocol_version = init?.msg.result.protocolVersion ?? null;
        report.server = client.getServerVersion() ?? null;
        report.capabilities = client.getServerCapabilities() ?? null;
        report.instructions = client.getInstructions() ?? null;
        if (sc.list_tools || sc.schemas || sc.instances) {
            report.tools = await listAllTools(client);
        }
        if (sc.schemas) {
            const ajv = makeAjv();
            report.schemas = {};
            for (const t of report.tools) {
                report.schemas[t.name] = {
                    input: checkSchema(ajv, t.inputSchema),
                    output: checkSchema(ajv, t.outputSchema),
                };
            }
        }
        if (sc.instances) {
            const ajv = makeAjv();
            report.instances = sc.instances.map((i) => {
                const tool = report.tools.find((t) => t.name === i.tool);
                if (!tool) return { ...i, valid: null, errors: "no tool" };
                const validate = ajv.compile(tool.inputSchema);
                const valid = validate(i.value);
                return { ...i, valid,
                         errors: valid ? null : ajv.errorsText(
                             validate.errors) };
            });
        }
        for (const batch of sc.batches ?? []) {
            const recs = await Promise.all(
                batch.map((call) => runCall(client, call)));
            report.calls.push(...recs);
        }
        if (sc.wait_after_ms)
            await new Promise((r) => setTimeout(r, sc.wait_after_ms));
    } catch (e) {
        report.fatal = errorReport(e);
    }
    report.server_pid = transport.pid;
    await client.close().catch(() => {});
    // wait for the server to go (at most 5 s; the timer does not keep
    // node alive once it has)
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5000)
                                                      .unref())]);
    report.stderr = Buffer.concat(chunks).toString("utf8");
    report.elapsed_ms = now();
    process.stdout.write(JSON.stringify(report) + "\n");
}

main().catch((e) => {
    process.stdout.write(JSON.stringify({ fatal: errorReport(e) }) + "\n");
    process.exitCode = 1;
});
