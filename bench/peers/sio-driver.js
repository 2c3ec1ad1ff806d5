'use strict';
// The Socket.IO side of the load: the publisher and all N subscribers in this one process, so
// a message's send and receive times come from one clock (performance.now()). The Rust
// harness starts it, reads `READY` once every subscriber is connected and has received a
// warm-up message, measures the servers from when it writes `GO`, and reads back one JSON
// line: what arrived, duplicates, its own CPU (% of one core) and every publish-to-deliver
// latency in µs.
//   node sio-driver.js --urls http://127.0.0.1:A,http://127.0.0.1:B --n 100 --m 2000
//        --rate 500 (0 = flat out, --window in flight) --transport websocket|polling
// --m 0 only holds the N connections open until `GO` (the idle-stream scenario).
const http = require('http');
const readline = require('readline');
const { performance } = require('perf_hooks');
const { io } = require('socket.io-client');

function flag(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const urls = flag('urls', '').split(',').filter(Boolean);
const N = Number(flag('n', 100));
const M = Number(flag('m', 2000));
const RATE = Number(flag('rate', 500));
const WINDOW = Math.max(1, Number(flag('window', 32)));
const transports = [flag('transport', 'websocket')];
// Long-polling from Node opens a new TCP connection per poll unless given a keep-alive agent;
// a browser reuses its connections.
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
const now = () => performance.now() * 1000; // µs

function connect(url) {
  return new Promise((resolve, reject) => {
    const socket = io(url, { forceNew: true, reconnection: false, transports, agent, timeout: 30_000 });
    socket.once('connect_error', (err) => { socket.close(); reject(err); });
    socket.once('connect', () => resolve(socket));
  });
}

async function inBatches(count, size, make) {
  const out = [];
  for (let i = 0; i < count; i += size) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + size); j++) batch.push(make(j));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

const seen = [];
const latencies = [];
let received = 0; let duplicates = 0; let disconnects = 0; let lastReceive = 0;
const warmed = new Set();

function subscriber(index, socket) {
  const got = new Uint8Array(Math.max(M, 1));
  seen.push(got);
  socket.on('m', (msg) => {
    if (msg.s < 0) { warmed.add(index); return; }
    const t = now();
    if (got[msg.s]) { duplicates++; return; }
    got[msg.s] = 1;
    received++;
    lastReceive = t;
    latencies.push(Math.round(t - msg.t));
  });
  socket.on('disconnect', (reason) => { if (reason !== 'io client disconnect') disconnects++; });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const publish = (pub, s) => new Promise((resolve) => pub.emit('pub', { s, t: now() }, resolve));

async function main() {
  const subs = await inBatches(N, 100, (i) => connect(urls[i % urls.length]));
  subs.forEach((socket, i) => subscriber(i, socket));
  const pub = await connect(urls[0]);
  const warmUntil = Date.now() + 20_000;
  while (M > 0 && warmed.size < N && Date.now() < warmUntil) { await publish(pub, -1); await sleep(20); }
  process.stdout.write('READY\n');
  await new Promise((resolve) => readline.createInterface({ input: process.stdin }).once('line', resolve));

  const start = now();
  const cpuAtStart = process.cpuUsage();
  if (RATE > 0) {
    const sent = [];
    for (let s = 0; s < M; s++) {
      const due = start + (s * 1e6) / RATE;
      const wait = (due - now()) / 1000;
      if (wait > 1) await sleep(wait);
      sent.push(publish(pub, s));
    }
    await Promise.all(sent);
  } else {
    let next = 0;
    const lane = async () => { while (next < M) await publish(pub, next++); };
    await Promise.all(Array.from({ length: WINDOW }, lane));
  }
  const cap = Date.now() + 30_000;
  let last = -1; let still = Date.now();
  while (received < N * M && Date.now() < cap && Date.now() - still < 2000) {
    if (received !== last) { last = received; still = Date.now(); }
    await sleep(10);
  }
  const cpu = process.cpuUsage(cpuAtStart);
  const generatorCpuPct = ((cpu.user + cpu.system) / Math.max(1, now() - start)) * 100;
  for (const s of [...subs, pub]) s.close();
  agent.destroy();
  const result = JSON.stringify({
    received, duplicates, disconnects, generator_cpu_pct: generatorCpuPct, elapsed_us: Math.round(lastReceive - start), latencies_us: latencies,
  });
  // A pipe takes a large write asynchronously: exit once it is flushed, not before.
  process.stdout.write(`${result}\n`, () => process.exit(0));
}

main().catch((err) => { console.error(err); process.exit(1); });
