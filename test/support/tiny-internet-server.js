'use strict';
// Runs inside the test's network namespace (ip netns exec): the "internet" of the egress specs.
// argv[2]: JSON { http: [addr], https: {addr, key, cert}, echo: addr, udp: addr, dns: {addr, names: {name: address}} }
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const dgram = require('node:dgram');

const config = JSON.parse(process.argv[2]);
const pending = [];
const listen = (server, port, host) => pending.push(new Promise((resolve) => server.listen(port, host, resolve)));

const answer = (req, res) => {
  const body = `hello from ${req.headers.host} at ${req.socket.localAddress}${req.url === '/big' ? '\n' + 'x'.repeat(1024 * 1024) : ''}\n`;
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
};
for (const addr of config.http) listen(http.createServer(answer), 80, addr);
listen(https.createServer({ key: config.https.key, cert: config.https.cert }, answer), 443, config.https.addr);
listen(net.createServer((s) => s.pipe(s)), 7, config.echo);
const udp = dgram.createSocket('udp4');
udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
pending.push(new Promise((resolve) => udp.bind(9, config.udp, resolve)));

// A minimal DNS server: A records for the test names, NXDOMAIN otherwise.
const dns = dgram.createSocket('udp4');
dns.on('message', (msg, rinfo) => {
  let offset = 12;
  const labels = [];
  while (msg[offset]) {
    labels.push(msg.subarray(offset + 1, offset + 1 + msg[offset]).toString());
    offset += msg[offset] + 1;
  }
  const question = msg.subarray(12, offset + 5);
  const qtype = msg.readUInt16BE(offset + 1);
  const address = config.dns.names[labels.join('.').toLowerCase()];
  const header = Buffer.alloc(12);
  msg.copy(header, 0, 0, 2);
  const found = address !== undefined && qtype === 1;
  header.writeUInt16BE(address === undefined ? 0x8183 : 0x8180, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(found ? 1 : 0, 6);
  const parts = [header, question];
  if (found) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(1, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(1, 6);
    rr.writeUInt16BE(4, 10);
    address.split('.').forEach((o, i) => (rr[12 + i] = Number(o)));
    parts.push(rr);
  }
  dns.send(Buffer.concat(parts), rinfo.port, rinfo.address);
});
pending.push(new Promise((resolve) => dns.bind(53, config.dns.addr, resolve)));
Promise.all(pending).then(() => process.stdout.write('ready\n'));
