// The loopback TCP ceiling for `npm run bench`: how many bytes/s one Node socket can absorb on this machine.
//
//   tcp-sink-worker.ts sink                 listen on 127.0.0.1:0, print {"port":N}, then for one connection
//                                           count bytes until the peer ends; print {"bytes":…,"seconds":…}
//   tcp-sink-worker.ts source PORT BYTES S  write BYTES in 256 KiB buffers (honouring backpressure), or stop
//                                           after S seconds, then end the socket
//
// Sink and source are separate processes so each has its own event loop (and, on 2 cores, its own core).
import net from 'node:net';

const [mode, ...rest] = process.argv.slice(2);

if (mode === 'sink') {
  const server = net.createServer((socket) => {
    let bytes = 0;
    let first = 0n;
    socket.on('data', (d: Buffer) => {
      if (bytes === 0) first = process.hrtime.bigint();
      bytes += d.length;
    });
    socket.on('end', () => {
      const seconds = Number(process.hrtime.bigint() - first) / 1e9;
      process.stdout.write(`${JSON.stringify({ bytes, seconds })}\n`);
      socket.end();
      server.close();
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address() as net.AddressInfo;
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  });
} else if (mode === 'source') {
  const port = Number(rest[0]);
  const total = Number(rest[1]);
  const deadline = Date.now() + Number(rest[2] ?? 30) * 1000;
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  const socket = net.connect({ host: '127.0.0.1', port }, () => {
    let sent = 0;
    const pump = (): void => {
      while (sent < total && Date.now() < deadline) {
        sent += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
  socket.on('error', (err) => {
    process.stderr.write(`source: ${err.message}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write('usage: tcp-sink-worker.ts sink | source PORT BYTES SECONDS\n');
  process.exit(2);
}
