// fetch.mjs -- the Node side of the HTTP figures of `make bench`: the
// same work as bench/http_get.lua with Node's built-in fetch (undici,
// global keep-alive agent). Standard library only.
//
//   node bench/fetch.mjs URL REQUESTS CONCURRENCY [BODY_BYTES] [WARMUP]
//
// CONCURRENCY 1: one await after another. Otherwise CONCURRENCY async
// loops under one Promise.all, each doing its share one after another
// (32 in flight all the time, as curl --parallel-max 32 and the
// clawhost recipe do). After WARMUP untimed GETs (undici loads lazily,
// the first connection opens), prints one JSON line: requests,
// concurrency, seconds, rps, failures.
import { performance } from "node:perf_hooks";

const [url, nArg, cArg, bArg = "13", wArg = "1"] = process.argv.slice(2);
const n = Number(nArg), c = Number(cArg), want = Number(bArg);
const warmup = Number(wArg);
if (!url || !(n >= 1) || !(c >= 1) || !(want >= 0) || !(warmup >= 0)) {
  console.error("usage: fetch.mjs URL REQUESTS CONCURRENCY [BODY_BYTES] "
                + "[WARMUP]");
  process.exit(2);
}

let failures = 0, firstError = null;

async function one() {
  try {
    const res = await fetch(url);
    const body = await res.arrayBuffer();
    if (res.status !== 200 || body.byteLength !== want)
      throw new Error(`status ${res.status}, ${body.byteLength} bytes`);
  } catch (e) {
    failures++;
    firstError ??= String(e && e.cause ? e.cause : e);
  }
}

for (let i = 0; i < warmup; i++) await one();
if (failures) {
  console.error(`fetch.mjs: warm-up GET failed: ${firstError}`);
  process.exit(1);
}
const t0 = performance.now();
if (c === 1) {
  for (let i = 0; i < n; i++) await one();
} else {
  const loops = [];
  for (let w = 0; w < c; w++) {
    const share = Math.floor(n / c) + (w < n % c ? 1 : 0);
    loops.push((async () => { for (let i = 0; i < share; i++) await one(); })());
  }
  await Promise.all(loops);
}
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ requests: n, concurrency: c, seconds,
                             rps: n / seconds, failures,
                             first_error: firstError }));
