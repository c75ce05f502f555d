// The startup baseline of `npm run bench` (section startup): the least a Node process can do to look like a
// broker to the startup probe — listen on 127.0.0.1, print the "listening" line the bench reads, and answer every
// request frame with an empty Metadata v0 response (correlation id echoed). Eddy's startup is measured against
// this, side by side, so the figure says what Eddy adds over Node itself. Arguments are ignored (it is started
// with the broker's own command line).
import net from 'node:net';

const server = net.createServer((socket) => {
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const correlationId = pending.readInt32BE(8);
      pending = pending.subarray(4 + pending.readInt32BE(0));
      const response = Buffer.alloc(16);
      response.writeInt32BE(12, 0); // size: correlation id + two empty arrays
      response.writeInt32BE(correlationId, 4);
      response.writeInt32BE(0, 8); // brokers: []
      response.writeInt32BE(0, 12); // topics: []
      socket.write(response);
    }
  });
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
