import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BoundedTail } from '../../core/pipeline/bounded-tail';
import { HashingCounter, type Progress } from '../../core/pipeline/hashing';

describe('HashingCounter', () => {
	it('reports progress with growing byte counts while data flows', async () => {
		const reports: Progress[] = [];
		const counter = new HashingCounter((p) => reports.push(p), 0);
		const chunks = Array.from({ length: 5 }, () => Buffer.alloc(1000, 7));
		await pipeline(Readable.from(chunks), counter, new Writable({ write: (_c, _e, cb) => cb() }));
		expect(reports.map((r) => r.bytes)).toEqual([1000, 2000, 3000, 4000, 5000]);
		expect(counter.bytes).toBe(5000);
	});

	it('stays quiet within the interval', async () => {
		const reports: Progress[] = [];
		const counter = new HashingCounter((p) => reports.push(p), 60_000);
		await pipeline(Readable.from([Buffer.alloc(10)]), counter, new Writable({ write: (_c, _e, cb) => cb() }));
		expect(reports).toEqual([]);
	});
});

describe('BoundedTail', () => {
	it('keeps only the end of a long stderr', () => {
		const tail = new BoundedTail(100);
		for (let i = 0; i < 1000; i++) tail.push(Buffer.from(`line ${i}\n`));
		expect(tail.text().length).toBeLessThanOrEqual(100);
		expect(tail.lastLines(2)).toBe('line 998\nline 999');
	});
});
