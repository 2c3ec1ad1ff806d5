'use strict';
// The bare reference: HTTP POST up, SSE down, Redis pub/sub fan-out, and nothing else (no
// sessions, no replay, no guarantees). POST /publish PUBLISHes the body once Redis answers;
// every GET /sse stream is written each message from the process's one SUBSCRIBE connection,
// one frame buffer shared by all of them.
//   node servers/sse-ref.js --port 0 --redis-url redis://127.0.0.1:6379
const http = require('http');
const Redis = require('ioredis');
const { flag, announce, exitOnSignal } = require('./common');

const CHANNEL = 'bench:sse-ref';
const redisUrl = flag('redis-url', 'redis://127.0.0.1:6379');
const publisher = new Redis(redisUrl);
const subscriber = new Redis(redisUrl);
const streams = new Set();

subscriber.on('messageBuffer', (_channel, body) => {
  const frame = Buffer.concat([Buffer.from('data: '), body, Buffer.from('\n\n')]);
  for (const res of streams) res.write(frame);
});

function openStream(req, res) {
  req.socket.setNoDelay(true);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(': open\n\n');
  streams.add(res);
  req.on('close', () => streams.delete(res));
}

function publish(req, res) {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    publisher.publish(CHANNEL, Buffer.concat(chunks)).then(
      (receivers) => res.end(String(receivers)),
      (err) => { res.statusCode = 500; res.end(String(err)); },
    );
  });
}

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (req.method === 'GET' && path === '/sse') return openStream(req, res);
  if (req.method === 'POST' && path === '/publish') return publish(req, res);
  res.statusCode = path === '/health' ? 200 : 404;
  res.end();
});
server.keepAliveTimeout = 60_000;

subscriber.subscribe(CHANNEL).then(() => publisher.ping()).then(() => {
  server.listen(Number(flag('port', 0)), '127.0.0.1', () => announce(server));
}, (err) => { console.error(err); process.exit(1); });
exitOnSignal(() => server.close());
