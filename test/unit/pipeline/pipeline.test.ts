import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BoundedTail } from '../../../core/pipeline/bounded-tail';
import { HashingCounter, writeHashed, type Progress } from '../../../core/pipeline/hashing';

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

describe('writeHashed', () => {
	it('writes and hashes the same bytes, however they arrive (one chunk or many written together)', async () => {
		const folder = await mkdtemp(join(tmpdir(), 'totvs-hashed-'));
		try {
			const data = randomBytes(5 * 1024 * 1024 + 17);
			// Many small chunks queued at once reach the file through writev, in batches.
			const slow = new PassThrough({ highWaterMark: 8 << 20 });
			for (let offset = 0; offset < data.length; offset += 4096) slow.write(data.subarray(offset, offset + 4096));
			slow.end();
			const reports: Progress[] = [];
			const many = await writeHashed(slow, join(folder, 'many.bin'), {
				onProgress: (p) => reports.push(p),
				progressIntervalMs: 0,
			});
			const one = await writeHashed(Readable.from([data]), join(folder, 'one.bin'));
			const expected = { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
			expect(many).toEqual(expected);
			expect(one).toEqual(expected);
			expect((await readFile(join(folder, 'many.bin'))).equals(data)).toBe(true);
			expect(((await stat(join(folder, 'one.bin'))).mode & 0o777).toString(8)).toBe(
				(0o640 & ~process.umask()).toString(8),
			);
			expect(reports.at(-1)?.bytes).toBe(data.length);
		} finally {
			await rm(folder, { recursive: true, force: true });
		}
	});

	it('stays correct across the background flushes of a large file', async () => {
		const folder = await mkdtemp(join(tmpdir(), 'totvs-hashed-'));
		try {
			const chunks = Array.from({ length: 80 }, () => randomBytes(1 << 20));
			const hash = createHash('sha256');
			for (const c of chunks) hash.update(c);
			const result = await writeHashed(Readable.from(chunks), join(folder, 'big.bin'));
			expect(result).toEqual({ bytes: 80 << 20, sha256: hash.digest('hex') });
			expect((await stat(join(folder, 'big.bin'))).size).toBe(80 << 20);
		} finally {
			await rm(folder, { recursive: true, force: true });
		}
	});

	it('never overwrites a file that exists, and leaves it as it was', async () => {
		const folder = await mkdtemp(join(tmpdir(), 'totvs-hashed-'));
		try {
			await writeHashed(Readable.from([Buffer.from('first')]), join(folder, 'a.bin'));
			await expect(writeHashed(Readable.from([Buffer.from('second')]), join(folder, 'a.bin'))).rejects.toMatchObject({
				code: 'EEXIST',
			});
			expect(await readFile(join(folder, 'a.bin'), 'utf8')).toBe('first');
		} finally {
			await rm(folder, { recursive: true, force: true });
		}
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
