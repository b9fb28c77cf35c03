/**
 * The start of an n8n (support/n8n-env.ts startN8n, which the queue cluster and every e2e use)
 * is bounded: an n8n that hangs while starting fails the wait with what was waited for, the last
 * probe's answer and the log tail, instead of holding the test run. Stand-ins for n8n here (a
 * tiny server that never answers, one that says "starting up" forever), so it takes seconds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePortPair, startN8n, type N8nInstance } from '../../support/n8n-env';

let dir: string;
beforeAll(() => {
	dir = mkdtempSync(path.join(os.tmpdir(), 'totvs-fake-n8n-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An "n8n" whose `start` runs `body` (a Node script that reads its port from N8N_PORT). */
async function fakeN8n(name: string, body: string): Promise<N8nInstance> {
	const script = path.join(dir, `${name}.js`);
	writeFileSync(script, body);
	const port = await freePortPair();
	return {
		install: {
			nodeDir: path.dirname(path.dirname(process.execPath)),
			nodeBin: process.execPath,
			n8nBin: script,
			n8nVersion: 'fake',
		},
		userFolder: dir,
		port,
		env: { PATH: process.env.PATH, N8N_PORT: String(port) },
	};
}

const QUICK = { idleMs: 3000, maxMs: 60_000 };

describe('starting n8n is bounded', () => {
	it('a server that accepts connections and never answers: fails naming /healthz, the probe and the log tail', async () => {
		const instance = await fakeN8n(
			'silent',
			`require('node:net').createServer(() => {}).listen(Number(process.env.N8N_PORT), '127.0.0.1', () => console.log('fake n8n: accepting, never answering'));`,
		);
		const started = Date.now();
		const error = await startN8n(instance, QUICK).then(
			() => undefined,
			(e: Error) => e,
		);
		expect(error).toBeInstanceOf(Error);
		expect(error!.message).toMatch(
			/n8n did not get to answering \/healthz on http:\/\/127\.0\.0\.1:\d+: no output and no CPU use/,
		);
		expect(error!.message).toMatch(/last probe: \/healthz: no answer within 10 s/);
		expect(error!.message).toContain('fake n8n: accepting, never answering');
		console.log(`hung start reported after ${((Date.now() - started) / 1000).toFixed(1)} s:\n${error!.message}`);
	}, 60_000);

	it('an n8n stuck "starting up": fails naming the REST API and its last answer', async () => {
		const instance = await fakeN8n(
			'starting',
			`require('node:http').createServer((req, res) => res.end(req.url === '/healthz' ? '{"status":"ok"}' : 'n8n is starting up. Please wait')).listen(Number(process.env.N8N_PORT), '127.0.0.1', () => console.log('fake n8n: starting up forever'));`,
		);
		const error = await startN8n(instance, QUICK).then(
			() => undefined,
			(e: Error) => e,
		);
		expect(error!.message).toMatch(/n8n did not get to answering its REST API on .*: no output and no CPU use/);
		expect(error!.message).toContain('last probe: /rest/settings answered 200 n8n is starting up');
		expect(error!.message).toContain('fake n8n: starting up forever');
	}, 60_000);
});
