/**
 * The one safe upload (core/destinations/verified-put.ts) against an in-memory backend whose
 * behaviour each test chooses: when it resumes, when it restarts, when it reads back, what it
 * leaves behind. The conformance suite runs the same code against the real backends.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BackupError } from '../../../core/errors';
import type { RemoteFileInfo } from '../../../core/destinations';
import type { PartialUpload, TransferDriver } from '../../../core/destinations/driver';
import { verifiedPut } from '../../../core/destinations/verified-put';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface FakeOptions {
	/** Bytes an earlier attempt left in the partial. */
	leftover?: Buffer;
	/** The service computes a SHA-256 of the stored file. */
	remoteHash?: boolean;
	readBackByDefault?: boolean;
	/** Corrupts what is stored (flips the last byte) on these sends (1-based). */
	corruptSends?: number[];
}

/** An in-memory backend: one partial and the committed files, and a log of what was called. */
function fakeDriver(options: FakeOptions, local: Buffer) {
	const calls: string[] = [];
	const committed = new Map<string, Buffer>();
	let partial: Buffer | undefined = options.leftover;
	let sends = 0;
	const driver: TransferDriver = {
		describe: () => 'fake://here',
		offersRemoteHash: () => options.remoteHash === true,
		readBackByDefault: options.readBackByDefault === true,
		beginPut: async (rel): Promise<PartialUpload> => ({
			resumable: partial?.length ?? 0,
			send: async (offset) => {
				sends++;
				calls.push(`send@${offset}`);
				const stored = Buffer.concat([(partial ?? Buffer.alloc(0)).subarray(0, offset), local.subarray(offset)]);
				if (options.corruptSends?.includes(sends)) stored[stored.length - 1] ^= 0xff;
				partial = stored;
				return { digest: { bytes: local.length, sha256: sha256(local) }, from: offset };
			},
			stat: async (): Promise<RemoteFileInfo> => ({
				size: partial?.length ?? -1,
				sha256: options.remoteHash && partial ? sha256(partial) : undefined,
			}),
			readBack: async () => {
				calls.push('readBack');
				return sha256(partial!);
			},
			commit: async () => {
				calls.push('commit');
				committed.set(rel, partial!);
				partial = undefined;
			},
			discard: async () => {
				calls.push('discard');
				partial = undefined;
			},
		}),
		statFile: async () => null,
		openRead: async () => {
			throw new Error('not used');
		},
		toBackupError: (error) =>
			error instanceof BackupError ? error : new BackupError('TRANSFER_FAILED', String(error), 'hint'),
	};
	return { driver, calls, committed, partial: () => partial };
}

let scratch: string;
let file: string;
let data: Buffer;
beforeAll(() => {
	scratch = mkdtempSync(path.join(os.tmpdir(), 'totvs-verified-put-'));
	data = randomBytes(10_000);
	file = path.join(scratch, 'database.dump');
	writeFileSync(file, data);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('verified put', () => {
	it('with a remote hash: resumes after what an earlier attempt left, and says so', async () => {
		const fake = fakeDriver({ remoteHash: true, leftover: data.subarray(0, 4000) }, data);
		const result = await verifiedPut(fake.driver, file, 'prod/set/database.dump');
		expect(result).toMatchObject({ verifiedBy: 'sha256', resumedFrom: 4000, bytes: data.length, sha256: sha256(data) });
		expect(fake.calls).toEqual(['send@4000', 'commit']);
		expect(fake.committed.get('prod/set/database.dump')?.equals(data)).toBe(true);
	});

	it('a resumed prefix that was not ours is thrown away and the file sent again from byte 0, once', async () => {
		const fake = fakeDriver({ remoteHash: true, leftover: randomBytes(4000) }, data);
		const result = await verifiedPut(fake.driver, file, 'prod/set/database.dump');
		expect(fake.calls).toEqual(['send@4000', 'discard', 'send@0', 'commit']);
		expect(result).toMatchObject({ verifiedBy: 'sha256', resumedFrom: 0 });
		expect(fake.committed.get('prod/set/database.dump')?.equals(data)).toBe(true);
	});

	it('size only: restarts instead of resuming (nothing could prove the result), no read-back unless asked', async () => {
		const fake = fakeDriver({ leftover: data.subarray(0, 4000) }, data);
		const result = await verifiedPut(fake.driver, file, 'a/b.bin');
		expect(fake.calls).toEqual(['send@0', 'commit']);
		expect(result).toMatchObject({ verifiedBy: 'size', resumedFrom: 0 });
	});

	it('size only and read-back asked: resumes, reads back, and reports read-back', async () => {
		const fake = fakeDriver({ leftover: data.subarray(0, 4000) }, data);
		const result = await verifiedPut(fake.driver, file, 'a/b.bin', { readBack: true });
		expect(fake.calls).toEqual(['send@4000', 'readBack', 'commit']);
		expect(result).toMatchObject({ verifiedBy: 'read-back', resumedFrom: 4000, remote: { sha256: sha256(data) } });
	});

	it('a backend that reads back by default (local folder) does so without being asked', async () => {
		const fake = fakeDriver({ readBackByDefault: true }, data);
		expect((await verifiedPut(fake.driver, file, 'a/b.bin')).verifiedBy).toBe('read-back');
		expect(fake.calls).toEqual(['send@0', 'readBack', 'commit']);
	});

	it('a remote hash is proof enough: no read-back over it even when asked', async () => {
		const fake = fakeDriver({ remoteHash: true }, data);
		expect((await verifiedPut(fake.driver, file, 'a/b.bin', { readBack: true })).verifiedBy).toBe('sha256');
		expect(fake.calls).toEqual(['send@0', 'commit']);
	});

	it('corrupted on the way: VERIFY_FAILED, the bad partial is deleted, nothing is committed', async () => {
		const fake = fakeDriver({ remoteHash: true, corruptSends: [1] }, data);
		await expect(verifiedPut(fake.driver, file, 'a/b.bin')).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
		expect(fake.calls).toEqual(['send@0', 'discard']);
		expect(fake.committed.size).toBe(0);
		expect(fake.partial()).toBeUndefined();
	});

	it('caught by the read-back only: the same', async () => {
		const fake = fakeDriver({ corruptSends: [1] }, data);
		await expect(verifiedPut(fake.driver, file, 'a/b.bin', { readBack: true })).rejects.toMatchObject({
			code: 'VERIFY_FAILED',
		});
		expect(fake.calls).toEqual(['send@0', 'readBack', 'discard']);
		expect(fake.committed.size).toBe(0);
	});

	it('a local file that is not what the manifest recorded is refused before the rename', async () => {
		const fake = fakeDriver({ remoteHash: true }, data);
		await expect(verifiedPut(fake.driver, file, 'a/b.bin', { expectedSha256: '0'.repeat(64) })).rejects.toMatchObject({
			code: 'VERIFY_FAILED',
			message: expect.stringMatching(/Local file/),
		});
		expect(fake.calls).toEqual(['send@0', 'discard']);
		expect(fake.committed.size).toBe(0);
	});

	it('a transfer that fails keeps the partial for the next attempt to resume', async () => {
		const fake = fakeDriver({ remoteHash: true }, data);
		const failing: TransferDriver = {
			...fake.driver,
			beginPut: async (rel, localFile, localSize) => ({
				...(await fake.driver.beginPut(rel, localFile, localSize)),
				send: async () => {
					throw new Error('connection reset');
				},
			}),
		};
		await expect(verifiedPut(failing, file, 'a/b.bin')).rejects.toMatchObject({ code: 'TRANSFER_FAILED' });
		expect(fake.calls).not.toContain('discard');
	});

	it('a missing local file is a clear error naming it', async () => {
		const fake = fakeDriver({}, data);
		await expect(verifiedPut(fake.driver, path.join(scratch, 'nope.dump'), 'a/b.bin')).rejects.toMatchObject({
			code: 'SET_NOT_FOUND',
			message: expect.stringContaining('nope.dump'),
		});
	});
});
