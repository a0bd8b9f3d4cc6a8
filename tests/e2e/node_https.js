// SPDX-License-Identifier: BSD-2-Clause
// For e2e.secrets_node, with node's own https module (its OpenSSL linked in):
//   node node_https.js serve PORT KEY CERT    HTTPS server answering 200 "ok" to every request
//   node node_https.js get PORT URIS          clients, one connection each: TLS 1.3 with each of
//       the three suites, TLS 1.2, and each version resumed with the first connection's session;
//       the path of every request it made, one a line, in the file URIS
// Run node with --tls-keylog=FILE: its key log is the test's truth.
'use strict';
const fs = require('fs');
const https = require('https');

const [mode, port, a, b] = process.argv.slice(2);

if (mode === 'serve') {
	https.createServer({ key: fs.readFileSync(a), cert: fs.readFileSync(b), minVersion: 'TLSv1.2' },
		(req, res) => res.end('ok\n')).listen(Number(port), '127.0.0.1');
} else {
	const uris = [];
	// One request on a connection of its own; resolves with the session it ended with.
	const get = (path, tls) => new Promise((resolve, reject) => {
		let session;
		const req = https.get({ host: '127.0.0.1', port: Number(port), path, agent: false,
			rejectUnauthorized: false, ...tls }, (res) => {
			res.resume();
			res.on('end', () => {
				if (res.statusCode !== 200)
					return reject(new Error(`${path}: status ${res.statusCode}`));
				if (tls.session && !req.socket.isSessionReused())
					return reject(new Error(`${path}: not resumed`));
				uris.push(path);
				resolve(session || req.socket.getSession());
			});
		});
		req.on('socket', (s) => s.on('session', (sess) => { session = sess; }));
		req.on('error', reject);
	});
	(async () => {
		const suites = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384',
			'TLS_CHACHA20_POLY1305_SHA256'];
		let s13, s12;
		for (const c of suites) {
			const s = await get(`/tls13-${c}`, { minVersion: 'TLSv1.3', ciphersuites: c });
			s13 = s13 || s;
		}
		await get('/tls13-resumed', { minVersion: 'TLSv1.3', session: s13 });
		s12 = await get('/tls12', { maxVersion: 'TLSv1.2' });
		await get('/tls12-resumed', { maxVersion: 'TLSv1.2', session: s12 });
		fs.writeFileSync(a, uris.join('\n') + '\n');
	})().catch((e) => { console.error(e.message); process.exit(1); });
}
