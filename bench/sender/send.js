#!/usr/bin/env node
// An AMQP 1.0 sender independent of the project's emulator, on rhea (another
// AMQP 1.0 implementation, pure JavaScript), for bench/bench.py's
// "independent sender" cases.
//
// The cloud pushes: the daemon is the client. So this is a TLS listener that
// accepts a connection, authenticates SASL PLAIN (any Alibaba-style user name
// with a password: the bench checks the daemon's sign-in elsewhere), and on the
// first receiver link the peer attaches pushes --count messages as the peer's
// credit allows: 300-byte JSON bodies (property post, padded as the emulator
// pads them) in a data section, with the application properties topic,
// messageId (--id-prefix + n, unique) and generateTime, the emulator's shape
// (tests/emulator/message_factory.cpp, wire_message.cpp).
//
//   node send.js --cert server.pem --key server.key --count N --id-prefix P
//                [--port 0] [--port-file FILE]
//
// Protocol with the driver, one JSON object per stdout line:
//   {"event":"listening","port":P}  then, once a peer attached a receiving link,
//   {"event":"linked"}              and the driver writes "go\n" on stdin when its
//                                   own readings are taken; the clock starts then.
//   {"event":"done",...}            when the N-th delivery is accepted: rate,
//                                   the sender's CPU (process.cpuUsage) per message,
//                                   and the frames the peer sent meanwhile.
// It then keeps running (the peer stays connected) until stdin closes or SIGTERM.
//
// Messages (the objects) are made before the clock starts, as the emulator's
// premade stream is; rhea's encoding and framing of each one at send time is
// counted: that is what this sender stack costs.
'use strict';

const fs = require('fs');
const readline = require('readline');
const rhea = require('rhea');
const Session = require('rhea/lib/session.js');

function parseArgs(argv) {
    const o = {port: 0, count: 100000, idPrefix: 'rhea-', size: 300, host: '127.0.0.1'};
    for (let i = 2; i < argv.length; i += 2) {
        const k = argv[i], v = argv[i + 1];
        if (k === '--cert') o.cert = v;
        else if (k === '--key') o.key = v;
        else if (k === '--count') o.count = parseInt(v, 10);
        else if (k === '--id-prefix') o.idPrefix = v;
        else if (k === '--size') o.size = parseInt(v, 10);
        else if (k === '--port') o.port = parseInt(v, 10);
        else if (k === '--host') o.host = v;
        else if (k === '--port-file') o.portFile = v;
        else throw new Error('unknown option ' + k);
    }
    if (!o.cert || !o.key) throw new Error('--cert and --key are required');
    return o;
}

const opts = parseArgs(process.argv);
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

// ---- the frames the peer sends, counted from the moment the clock starts ----
const frames = {flow: 0, disposition: 0, disposition_span: 0, counting: false};
const onFlow = Session.prototype.on_flow;
Session.prototype.on_flow = function (frame) {
    if (frames.counting) frames.flow++;
    return onFlow.call(this, frame);
};
const onDisposition = Session.prototype.on_disposition;
Session.prototype.on_disposition = function (frame) {
    if (frames.counting) {
        frames.disposition++;
        const p = frame.performative;
        const last = p.last === undefined || p.last === null ? p.first : p.last;
        frames.disposition_span += last - p.first + 1;
    }
    return onDisposition.call(this, frame);
};

// ---- the messages ----
const PRODUCT_KEY = 'a1BenchRhea';

function padJson(body, size) {
    const member = ',"padding":""';
    if (body.length >= size || body[body.length - 1] !== '}') return body;
    body = body.slice(0, -1);
    const gap = size - body.length - 1;
    if (gap >= member.length) body += ',"padding":"' + 'x'.repeat(gap - member.length) + '"';
    else body += ' '.repeat(gap);
    return body + '}';
}

function makeMessage(n, now) {
    const dn = 'device-' + (((n - 1) % 10) + 1);
    const body = padJson(JSON.stringify({
        deviceType: 'CustomCategory', iotId: 'iot' + dn, requestId: String(n), checkFailedData: {},
        productKey: PRODUCT_KEY, gmtCreate: now, deviceName: dn,
        items: {Temperature: {value: 20 + (n % 15), time: now}, Humidity: {value: 40 + (n % 30), time: now}},
    }), opts.size);
    return {
        application_properties: {
            topic: '/' + PRODUCT_KEY + '/' + dn + '/thing/event/property/post',
            messageId: opts.idPrefix + n,
            generateTime: rhea.types.wrap_long(now),
        },
        body: rhea.message.data_section(Buffer.from(body, 'utf8')),
    };
}

const now = Date.now();
const messages = new Array(opts.count);
for (let i = 0; i < opts.count; i++) messages[i] = makeMessage(i + 1, now);

// ---- the server ----
const container = rhea.create_container({id: 'bench-rhea-sender'});
container.sasl_server_mechanisms.enable_plain((username, password) =>
    typeof username === 'string' && username.length > 0 && typeof password === 'string' && password.length > 0);

let link = null;
let go = false;
let sent = 0;
let accepted = 0;
let other = 0;
let t0 = 0n;
let cpu0 = null;
let bytes0 = 0;
let finished = false;

function pump() {
    if (!go || link === null) return;
    while (sent < opts.count && link.sendable()) link.send(messages[sent++]);
}

container.on('sender_open', (context) => {
    if (link !== null) return;  // one stream: the first link only
    link = context.sender;
    emit({event: 'linked', user: context.connection.sasl_transport ? context.connection.sasl_transport.username : null});
});
container.on('sendable', (context) => { if (context.sender === link) pump(); });
container.on('accepted', (context) => {
    if (context.sender !== link || finished) return;
    if (++accepted === opts.count) finish(context.connection);
});
for (const outcome of ['released', 'rejected', 'modified']) {
    container.on(outcome, (context) => { if (context.sender === link) other++; });
}
container.on('connection_error', (context) => process.stderr.write('connection error: ' + context.connection.error + '\n'));
container.on('disconnected', (context) => {
    if (context.connection === (link && link.connection) && !finished) {
        process.stderr.write('the peer disconnected after ' + accepted + ' accepts\n');
        link = null;
    }
});

function finish(connection) {
    finished = true;
    frames.counting = false;
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const bytes = connection.socket ? connection.socket.bytesRead - bytes0 : 0;
    emit({
        event: 'done', count: opts.count, accepted, other_outcomes: other, seconds: elapsed,
        rate: opts.count / elapsed, cpu_us_per_msg: (cpu.user + cpu.system) / opts.count,
        user_us_per_msg: cpu.user / opts.count, sys_us_per_msg: cpu.system / opts.count,
        peer_frames: {flow: frames.flow, disposition: frames.disposition,
                      flow_per_msg: frames.flow / opts.count, disposition_per_msg: frames.disposition / opts.count,
                      deliveries_per_disposition: frames.disposition ? frames.disposition_span / frames.disposition : null,
                      bytes_in_per_msg: bytes / opts.count},
    });
}

const rl = readline.createInterface({input: process.stdin});
rl.on('line', (line) => {
    if (line.trim() !== 'go' || go) return;
    if (link === null) { process.stderr.write('go before a link\n'); process.exit(2); }
    const connection = link.connection;
    bytes0 = connection.socket ? connection.socket.bytesRead : 0;
    cpu0 = process.cpuUsage();
    t0 = process.hrtime.bigint();
    frames.counting = true;
    go = true;
    pump();
});
rl.on('close', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

const server = container.listen({
    port: opts.port, host: opts.host, transport: 'tls',
    key: fs.readFileSync(opts.key), cert: fs.readFileSync(opts.cert), require_sasl: true,
});
server.on('listening', () => {
    const port = server.address().port;
    if (opts.portFile) fs.writeFileSync(opts.portFile, String(port));
    emit({event: 'listening', port});
});
