#!/usr/bin/env node
// A minimal accept-only AMQP 1.0 receiver on rhea, for the independent sender's
// own rate (bench/bench.py, case "rhea-alone"): connects over TLS with SASL PLAIN,
// attaches one receiving link with a credit window of --credit (1 000), and
// accepts every delivery as it arrives (rhea's autoaccept). It does nothing
// else with a message. Runs until killed.
//
//   node receive.js --port P --ca ca.pem [--host localhost] [--credit 1000]
'use strict';

const fs = require('fs');
const rhea = require('rhea');

const o = {host: 'localhost', credit: 1000};
for (let i = 2; i < process.argv.length; i += 2) {
    const k = process.argv[i], v = process.argv[i + 1];
    if (k === '--port') o.port = parseInt(v, 10);
    else if (k === '--ca') o.ca = v;
    else if (k === '--host') o.host = v;
    else if (k === '--credit') o.credit = parseInt(v, 10);
    else throw new Error('unknown option ' + k);
}

const container = rhea.create_container({id: 'bench-rhea-receiver'});
container.on('connection_error', (context) => process.stderr.write('connection error: ' + context.connection.error + '\n'));
container.on('disconnected', (context) => {
    process.stderr.write('disconnected: ' + (context.error || '') + '\n');
    process.exit(1);
});
process.on('SIGTERM', () => process.exit(0));

const connection = container.connect({
    host: o.host, port: o.port, transport: 'tls', ca: [fs.readFileSync(o.ca)], servername: o.host,
    username: 'bench-receiver|authMode=aksign,consumerGroupId=RHEA|', password: 'bench', reconnect: false,
});
connection.open_receiver({source: {address: 'bench'}, credit_window: o.credit, autoaccept: true});
