'use strict';
// Socket.IO 4.8 with @socket.io/redis-adapter: K of these on one Redis fan out to each other.
// A client's `pub` (payload, ack) is broadcast as `m` to every other socket on every instance,
// then acked. Both transports are on; the driver picks WebSocket or long-polling.
//   node servers/socketio.js --port 0 --redis-url redis://127.0.0.1:6379
const http = require('http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const Redis = require('ioredis');
const { flag, announce, exitOnSignal } = require('./common');

const redisUrl = flag('redis-url', 'redis://127.0.0.1:6379');
const pubClient = new Redis(redisUrl);
const subClient = pubClient.duplicate();
const httpServer = http.createServer();
const io = new Server(httpServer, {
  transports: ['polling', 'websocket'],
  adapter: createAdapter(pubClient, subClient, { key: 'bench:sio' }),
  serveClient: false,
});

io.on('connection', (socket) => {
  socket.on('pub', (payload, ack) => {
    socket.broadcast.emit('m', payload);
    if (typeof ack === 'function') ack(1);
  });
});

Promise.all([pubClient.ping(), subClient.ping()]).then(() => {
  httpServer.listen(Number(flag('port', 0)), '127.0.0.1', () => announce(httpServer));
}, (err) => { console.error(err); process.exit(1); });
exitOnSignal(() => io.close());
