'use strict';
// The published JavaScript socket-serve 0.6.0 behind its Express adapter, serving the chat
// example's `chat` event under /socket the way the Rust chat example does: `chat` {text}
// reaches every other session as `chat` {from, text}.
//
// 0.6.0's socket.broadcast() PUBLISHes to `ss:channel:broadcast`, which its own SSE handler
// never subscribes to; its chat-app sample makes broadcasts arrive by subscribing each stream
// to that channel as well (one more Redis subscription per stream) and skipping its own
// messages. This server does the same, on top of the stock handlers.
//   node servers/socket-serve-0.6.js --port 0 --redis-url redis://127.0.0.1:6379
const express = require('express');
const { flag, announce, exitOnSignal } = require('./common');

async function main() {
  const { serve } = await import('socket-serve');
  const redisUrl = flag('redis-url', 'redis://127.0.0.1:6379');
  const io = serve({ adapter: 'express', redisUrl, ttl: 3600, transport: 'sse' });
  const state = io.getServer().getStateManager();
  io.onMessage('chat', async (socket, data) => {
    await socket.broadcast('chat', { from: socket.id, text: data && data.text });
  });
  io.onMessage('echo', async (socket, data) => { await socket.emit('echo', data); });

  const handlers = io.middleware();
  const streamWithBroadcasts = async (req, res) => {
    await handlers.sse(req, res);
    const own = req.query.sessionId;
    if (!own || res.writableEnded) return;
    await state.subscribe('ss:channel:broadcast', (message) => {
      if (message.sessionId !== own && !res.writableEnded) res.write(`data: ${JSON.stringify(message)}\n\n`);
    });
  };

  const app = express();
  app.use(express.json({ limit: '1mb' }));
  app.post('/socket/connect', handlers.connect);
  app.post('/socket/message', handlers.message);
  app.post('/socket/disconnect', handlers.disconnect);
  app.get('/socket/sse', streamWithBroadcasts);
  await state.redis.ping();
  const server = app.listen(Number(flag('port', 0)), '127.0.0.1', () => announce(server));
  server.keepAliveTimeout = 60_000;
  exitOnSignal(() => { server.closeAllConnections(); server.close(); });
}

main().catch((err) => { console.error(err); process.exit(1); });
