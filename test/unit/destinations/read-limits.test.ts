/**
 * Reads from a destination are bounded whatever the other side claims: a small read stops at
 * its limit on the bytes actually received (a server's declared size can be wrong, or a lie),
 * and a download on which no byte arrives for the backend's timeout fails with TIMEOUT naming
 * the file, instead of waiting forever.
 */
import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LocalFolderDestination } from '../../../core/destinations';
import type { TransferDriver } from '../../../core/destinations/driver';
import { readSmall, verifiedGet } from '../../../core/destinations/verified-get';
import { BackupError } from '../../../core/errors';

/** A backend that declares `declared` bytes and then sends whatever `open` gives. */
function lyingDriver(declared: number, open: () => Readable, stallTimeoutMs?: number): TransferDriver {
	return {
		describe: () => 'fake://server',
		offersRemoteHash: () => false,
		readBackByDefault: false,
		stallTimeoutMs,
		beginPut: async () => {
			throw new Error('not used');
		},
		statFile: async () => ({ size: declared }),
		openRead: async () => open(),
		toBackupError: (error) =>
			error instanceof BackupError ? error : new BackupError('TRANSFER_FAILED', String(error), 'hint'),
	} as TransferDriver;
}

/** `chunks` chunks of 64 KiB, produced on demand (the reader may stop early). */
function endless(chunks: number): { stream: Readable; produced: () => number } {
	let produced = 0;
	const stream = new Readable({
		read() {
			if (produced >= chunks) {
				this.push(null);
				return;
			}
			produced++;
			this.push(Buffer.alloc(64 * 1024, 1));
		},
	});
	return { stream, produced: () => produced };
}

/** A stream that never sends a byte and never ends (a server that stopped answering). */
const silent = () => new Readable({ read() {} });

let scratch: string;
beforeAll(() => (scratch = mkdtempSync(path.join(os.tmpdir(), 'totvs-read-limits-'))));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('small reads are bounded by the bytes received', () => {
	it('a server that declares 10 bytes and sends 64 MiB: refused at the limit, the rest never read', async () => {
		const source = endless(1024);
		const error = await readSmall(
			lyingDriver(10, () => source.stream),
			'prod/.lock.json',
			1 << 20,
		).then(
			(buffer) => `returned ${buffer?.length} bytes`,
			(reason: unknown) => reason,
		);
		expect(error).toBeInstanceOf(BackupError);
		expect(error).toMatchObject({
			code: 'INVALID_INPUT',
			message: expect.stringMatching(/fake:\/\/server\/prod\/\.lock\.json .*more than the 1048576 expected/),
		});
		// It stopped reading soon after the limit instead of taking everything into memory.
		expect(source.produced()).toBeLessThan(64);
	});

	it('local folder: a file whose size the filesystem reports as 0 (procfs) is still held to the limit', async () => {
		const root = path.join(scratch, 'local');
		const destination = new LocalFolderDestination({ type: 'local', folder: root });
		await destination.createExclusive('prod/placeholder', 'x');
		// /proc files report size 0 and hold more: a declared size that is wrong, on a real filesystem.
		symlinkSync('/proc/self/status', path.join(root, 'prod', '.lock.json'));
		expect(statSync(path.join(root, 'prod', '.lock.json')).size).toBe(0);
		await expect(destination.readSmallFile('prod/.lock.json', 64)).rejects.toMatchObject({
			code: 'INVALID_INPUT',
			message: expect.stringMatching(/more than the 64 expected/),
		});
	});

	it('within the limit the bytes come back whole', async () => {
		const source = endless(2);
		const buffer = await readSmall(
			lyingDriver(0, () => source.stream),
			'manifest.json',
			1 << 20,
		);
		expect(buffer?.length).toBe(128 * 1024);
	});
});

describe('downloads that stall fail with TIMEOUT', () => {
	it('get: no byte for the backend timeout is TIMEOUT naming the file, nothing left under the local name', async () => {
		const started = Date.now();
		const target = path.join(scratch, 'stalled', 'database.dump');
		const outcome = await Promise.race([
			verifiedGet(lyingDriver(1000, silent, 300), 'prod/set/database.dump', target).then(
				() => 'finished',
				(reason: unknown) => reason,
			),
			new Promise((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000)),
		]);
		expect(outcome).toMatchObject({
			code: 'TIMEOUT',
			message: expect.stringContaining('fake://server/prod/set/database.dump'),
		});
		expect(Date.now() - started).toBeLessThan(5000);
		expect(() => statSync(target)).toThrow();
	});

	it('the limit counts from when the source is open: a slow open then data is no stall, and no stray error', async () => {
		const slowOpen: TransferDriver = {
			...lyingDriver(128 * 1024, () => endless(2).stream, 200),
			openRead: async () => {
				await new Promise((resolve) => setTimeout(resolve, 600));
				return endless(2).stream;
			},
		};
		const buffer = await readSmall(slowOpen, 'prod/.lock.json', 1 << 20);
		expect(buffer?.length).toBe(128 * 1024);
		const target = path.join(scratch, 'slow-open', 'file.bin');
		await expect(verifiedGet(slowOpen, 'prod/file.bin', target)).resolves.toMatchObject({ bytes: 128 * 1024 });
	});

	it('small reads too', async () => {
		const outcome = await Promise.race([
			readSmall(lyingDriver(10, silent, 300), 'prod/.lock.json', 1 << 20).then(
				() => 'finished',
				(reason: unknown) => reason,
			),
			new Promise((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000)),
		]);
		expect(outcome).toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('prod/.lock.json') });
	});
});
