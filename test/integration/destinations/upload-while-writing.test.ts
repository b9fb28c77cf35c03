/**
 * Sending artifacts while they are written (core/pipeline/upload-while-writing.ts) against a
 * real sshd: the bytes follow a slow writer into the partial name only; nothing has a final
 * name until uploadSet proves each partial by its SHA-256 and renames it; a partial that is not
 * what the set recorded is sent again; a set whose writing failed leaves nothing on the server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BackupSetWriter } from '../../../core/backup-set/set-writer';
import { SftpDestination, type SftpConfig } from '../../../core/destinations';
import { partialName } from '../../../core/destinations/destination';
import { currentOwner } from '../../../core/locking/environment-lock';
import { GrowingFile } from '../../../core/pipeline/growing-file';
import { uploadWhileWriting } from '../../../core/pipeline/upload-while-writing';
import { uploadSet } from '../../../core/upload/set-transfer';
import { daemonUnavailable } from '../../../support/daemons';
import { startSshd, type SshdServer } from '../../../support/sshd';
import { sampleManifest } from '../../fixtures/manifest';

const missing = daemonUnavailable('/usr/sbin/sshd', 'openssh-server');
const test = missing ? it.skip : it;
const title = (what: string) => (missing ? `skipped: ${missing} (${what})` : what);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `data` in pieces of uneven sizes, with pauses: a dump that writes as it goes. */
function slowly(data: Buffer, failAt?: number): Readable {
	return Readable.from(
		(async function* () {
			for (let offset = 0, i = 0; offset < data.length; i++) {
				if (failAt !== undefined && offset >= failAt) throw new Error('pg_dump died');
				const size = [100_000, 333_333, 1_000_000, 7][i % 4];
				yield data.subarray(offset, offset + size);
				offset += size;
				if (i % 3 === 0) await pause(15);
			}
		})(),
	);
}

describe('upload while writing (SFTP)', () => {
	let sshd: SshdServer;
	let scratch: string;
	const config = (): SftpConfig => ({
		type: 'sftp',
		host: sshd.host,
		port: sshd.port,
		username: sshd.user.name,
		password: sshd.user.password,
		hostKeySha256: sshd.hostKeySha256,
		folder: sshd.user.home,
		timeoutMs: 20_000,
	});
	const onServer = (...parts: string[]) => path.join(sshd.user.home, ...parts);
	const lock = { owner: currentOwner('upload-while-writing-test') };
	// Each set its own second: backup ids are made of it, and two tests in one second would share a folder on the server.
	let second = 0;
	const nextStart = () => new Date(Date.UTC(2026, 0, 1, 2, 0, second++));
	/** A set of one artifact (`data`, written slowly) written while it is sent; the writer, committed. */
	const writtenWhileSent = (destination: SftpDestination, staging: string, data: Buffer) =>
		uploadWhileWriting(destination, { environment: 'prod', lock }, async () => {
			const writer = await BackupSetWriter.create(staging, 'prod', 'full', 'database', nextStart());
			await writer.writeArtifact('db.dump', 'pg_dump', slowly(data));
			await writer.commit(sampleManifest({ backupId: writer.backupId, artifacts: writer.artifacts }));
			return writer;
		});

	beforeAll(async () => {
		scratch = mkdtempSync(path.join(os.tmpdir(), 'totvs-upload-while-writing-'));
		if (!missing) sshd = await startSshd();
	});
	afterAll(async () => {
		await sshd?.stop();
		rmSync(scratch, { recursive: true, force: true });
	});

	test(
		title('sendGrowing follows a file as it is written, into the partial name only; put then proves and renames it'),
		async () => {
			const destination = new SftpDestination(config());
			try {
				const data = randomBytes(3 * 1024 * 1024 + 12345);
				const file = path.join(scratch, 'growing.bin');
				writeFileSync(file, '');
				const growing = new GrowingFile(file);
				const sending = destination.sendGrowing('g/growing.bin', growing);
				// The writer appends in pieces; the sender must wait for it, not end at the current size.
				let written = 0;
				for (const size of [1, 300_000, 1_000_000, 0, 2_000_000]) {
					const piece = data.subarray(written, written + size);
					writeFileSync(file, piece, { flag: 'a' });
					written += piece.length;
					growing.grew(written);
					await pause(50);
				}
				writeFileSync(file, data.subarray(written), { flag: 'a' });
				growing.finish(data.length);
				await sending;
				expect(existsSync(onServer('g', 'growing.bin'))).toBe(false);
				expect(sha256(readFileSync(onServer(partialName('g/growing.bin'))))).toBe(sha256(data));
				expect(statSync(onServer(partialName('g/growing.bin'))).mode & 0o777).toBe(0o600);

				const put = await destination.put(file, 'g/growing.bin', { expectedSha256: sha256(data) });
				expect(put.verifiedBy).toBe('sha256');
				expect(put.resumedFrom).toBe(data.length);
				expect(sha256(readFileSync(onServer('g', 'growing.bin')))).toBe(sha256(data));
				expect(existsSync(onServer(partialName('g/growing.bin')))).toBe(false);
			} finally {
				await destination.close();
			}
		},
		60_000,
	);

	test(
		title('without a remote hash (the put could not prove a partial) nothing is sent early'),
		async () => {
			const destination = new SftpDestination({ ...config(), remoteHash: false });
			try {
				const file = path.join(scratch, 'unproven.bin');
				writeFileSync(file, randomBytes(300_000));
				const growing = new GrowingFile(file);
				growing.finish(300_000);
				await destination.sendGrowing('u/unproven.bin', growing);
				expect(existsSync(onServer(partialName('u/unproven.bin')))).toBe(false);
			} finally {
				await destination.close();
			}
		},
		60_000,
	);

	test(
		title('a writer that fails makes sendGrowing fail; nothing gets a final name'),
		async () => {
			const destination = new SftpDestination(config());
			try {
				const file = path.join(scratch, 'failing.bin');
				writeFileSync(file, randomBytes(600_000));
				const growing = new GrowingFile(file);
				growing.grew(600_000);
				const sending = destination.sendGrowing('f/failing.bin', growing);
				await pause(100);
				growing.fail(new Error('pg_dump died'));
				await expect(sending).rejects.toThrow(/pg_dump died/);
				expect(existsSync(onServer('f', 'failing.bin'))).toBe(false);
			} finally {
				await destination.close();
			}
		},
		60_000,
	);

	test(
		title('a set written while it is sent: uploadSet proves each partial (SHA-256) and renames it; manifest last'),
		async () => {
			const destination = new SftpDestination(config());
			const staging = path.join(scratch, 'staging-ok');
			try {
				const data = randomBytes(5 * 1024 * 1024 + 999);
				const set = await writtenWhileSent(destination, staging, data);
				const remote = onServer('prod', set.backupId);
				// Sent while written: the whole artifact under the partial name, the marker, no manifest.
				expect(readdirSync(remote).sort()).toEqual([path.basename(partialName('db.dump')), 'totvs-in-progress.json']);
				expect(sha256(readFileSync(path.join(remote, path.basename(partialName('db.dump')))))).toBe(sha256(data));

				const uploaded = await uploadSet(destination, set.folder, { lock });
				expect(uploaded.verifiedBy).toBe('sha256');
				expect(readdirSync(remote).sort()).toEqual(['db.dump', 'manifest.json']);
				expect(sha256(readFileSync(path.join(remote, 'db.dump')))).toBe(sha256(data));
			} finally {
				await destination.close();
			}
		},
		60_000,
	);

	test(
		title('a partial that differs from what the set recorded is sent again, never renamed as it is'),
		async () => {
			const destination = new SftpDestination(config());
			const staging = path.join(scratch, 'staging-tampered');
			try {
				const data = randomBytes(2 * 1024 * 1024 + 5);
				const set = await writtenWhileSent(destination, staging, data);
				const partial = onServer(partialName(`prod/${set.backupId}/db.dump`));
				const bad = readFileSync(partial);
				bad[bad.length >> 1] ^= 0xff;
				writeFileSync(partial, bad);

				const uploaded = await uploadSet(destination, set.folder, { lock });
				expect(uploaded.verifiedBy).toBe('sha256');
				expect(sha256(readFileSync(onServer('prod', set.backupId, 'db.dump')))).toBe(sha256(data));
			} finally {
				await destination.close();
			}
		},
		60_000,
	);

	test(
		title('a set whose writing fails leaves nothing on the server (its folder is removed)'),
		async () => {
			const destination = new SftpDestination(config());
			const staging = path.join(scratch, 'staging-failed');
			try {
				const data = randomBytes(4 * 1024 * 1024);
				let backupId = '';
				await expect(
					uploadWhileWriting(destination, { environment: 'prod', lock }, async () => {
						const writer = await BackupSetWriter.create(staging, 'prod', 'full', 'database', nextStart());
						backupId = writer.backupId;
						try {
							await writer.writeArtifact('db.dump', 'pg_dump', slowly(data, 2 * 1024 * 1024));
						} catch (error) {
							await writer.abort();
							throw error;
						}
						return writer;
					}),
				).rejects.toThrow(/pg_dump died/);
				expect(backupId).not.toBe('');
				expect(existsSync(onServer('prod', backupId))).toBe(false);
				// The lock was released: an upload can take it at once.
				expect(existsSync(onServer('prod', '.totvs-lock.json'))).toBe(false);
			} finally {
				await destination.close();
			}
		},
		60_000,
	);
});
