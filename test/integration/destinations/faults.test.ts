/**
 * Fault injection: an upload cut at several byte offsets (a loopback proxy drops every
 * connection) must never leave an incomplete file under its final name, and must finish
 * correctly when run again (resuming where the backend can prove the result).
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FtpDestination, GoogleDriveDestination, SftpDestination, type Destination } from '../../../core/destinations';
import { findOpensshClient } from '../../../core/destinations/sftp/sftp-openssh';
import { startCutProxy, type CutProxy } from '../../../support/cut-proxy';
import { daemonUnavailable } from '../../../support/daemons';
import { startDriveEmulator, type DriveEmulator } from '../../../support/drive-emulator';
import { startSshd, type SshdServer } from '../../../support/sshd';
import { startVsftpd, vsftpdUnavailable, type VsftpdServers } from '../../../support/vsftpd';

const FILE_BYTES = 3 * 1024 * 1024 + 777;
const CUT_OFFSETS = [1_500, 200_000, 1_600_000, 3_000_000];
let scratch: string;
let localFile: string;
let data: Buffer;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(() => {
	scratch = mkdtempSync(path.join(os.tmpdir(), 'totvs-faults-'));
	data = randomBytes(FILE_BYTES);
	localFile = path.join(scratch, 'database.dump');
	writeFileSync(localFile, data);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Polls "what is under the final name" every few ms while `during` runs; returns every size
 * seen there that was not the complete file.
 */
async function watchFinalName<T>(
	sizeUnderFinalName: () => Promise<number | undefined> | number | undefined,
	during: Promise<T>,
): Promise<{ result: PromiseSettledResult<T>; violations: number[] }> {
	const violations: number[] = [];
	let running = true;
	const poller = (async () => {
		while (running) {
			const size = await sizeUnderFinalName();
			if (size !== undefined && size !== FILE_BYTES) violations.push(size);
			await new Promise((resolve) => setTimeout(resolve, 3));
		}
	})();
	const [result] = await Promise.allSettled([during]);
	running = false;
	await poller;
	return { result, violations };
}

/** The shared scenario for a server whose files we can see on this machine's disk. */
async function cutAndRetry(
	name: string,
	proxy: CutProxy,
	destination: () => Destination,
	finalOnDisk: (remote: string) => string,
	expectResume: boolean,
) {
	const resumed: number[] = [];
	for (const offset of CUT_OFFSETS) {
		const remote = `prod/prod-20261126T020000Z-full-db/cut-${offset}.dump`;
		const sizeOnDisk = () => (existsSync(finalOnDisk(remote)) ? statSync(finalOnDisk(remote)).size : undefined);
		proxy.arm(offset);
		const cuts = proxy.cuts;
		const first = destination();
		const attempt = await watchFinalName(sizeOnDisk, first.put(localFile, remote));
		await first.close();
		expect({ name, offset, violations: attempt.violations }).toEqual({ name, offset, violations: [] });
		expect({ offset, status: attempt.result.status, cut: proxy.cuts - cuts }).toEqual({
			offset,
			status: 'rejected',
			cut: 1,
		});
		if (attempt.result.status === 'rejected')
			expect((attempt.result.reason as { code?: string }).code).toMatch(/TRANSFER_FAILED|UNREACHABLE|TIMEOUT/);
		expect(sizeOnDisk()).toBeUndefined();

		proxy.disarm();
		const second = destination();
		const retry = await watchFinalName(sizeOnDisk, second.put(localFile, remote));
		await second.close();
		expect(retry.violations).toEqual([]);
		expect(retry.result.status).toBe('fulfilled');
		if (retry.result.status === 'fulfilled') {
			expect(retry.result.value).toMatchObject({ bytes: FILE_BYTES, sha256: sha256(data) });
			resumed.push(retry.result.value.resumedFrom);
		}
		expect(sha256(readFileSync(finalOnDisk(remote)))).toBe(sha256(data));
	}
	// Where the result can be proven (remote sha256), a later cut resumes instead of restarting.
	if (expectResume) expect(Math.max(...resumed)).toBeGreaterThan(0);
	else expect(resumed.every((offset) => offset === 0)).toBe(true);
}

// Both transports: ssh2 throughout, and OpenSSH's sftp client for the bytes (its own connection
// through the proxy, besides ssh2's).
for (const transport of ['ssh2', 'openssh'] as const)
	describe(`fault injection: SFTP upload (over ${transport}) cut at several offsets`, () => {
		const openssh = findOpensshClient();
		const missing =
			daemonUnavailable('/usr/sbin/sshd', 'openssh-server') ??
			(transport === 'openssh' && typeof openssh === 'string' ? openssh : undefined);
		let sshd: SshdServer;
		let proxy: CutProxy;
		beforeAll(async () => {
			if (missing) return;
			sshd = await startSshd();
			proxy = await startCutProxy(sshd.port);
		});
		afterAll(async () => {
			await proxy?.stop();
			await sshd?.stop();
		});
		(missing ? it.skip : it)(
			missing
				? `skipped: ${missing}`
				: 'never an incomplete file under the final name; the retry resumes and verifies by sha256',
			async () => {
				await cutAndRetry(
					`sftp (${transport})`,
					proxy,
					() =>
						new SftpDestination({
							type: 'sftp',
							host: '127.0.0.1',
							port: proxy.port,
							username: sshd.user.name,
							password: sshd.user.password,
							hostKeySha256: sshd.hostKeySha256,
							folder: sshd.user.home,
							timeoutMs: 10_000,
							transport,
						}),
					(remote) => path.join(sshd.user.home, remote),
					true,
				);
			},
		);
	});

describe('fault injection: FTP upload cut at several offsets (control and data connections proxied)', () => {
	const missing = vsftpdUnavailable();
	let ftp: VsftpdServers;
	let proxy: CutProxy;
	beforeAll(async () => {
		if (missing) return;
		ftp = await startVsftpd();
		proxy = await startCutProxy(ftp.plain.port, { ftp: true });
	});
	afterAll(async () => {
		await proxy?.stop();
		await ftp?.stop();
	});
	(missing ? it.skip : it)(
		missing
			? `skipped: ${missing}`
			: 'never an incomplete file under the final name; the retry restarts (vsftpd has no remote hash to prove a resume)',
		async () => {
			await cutAndRetry(
				'ftp',
				proxy,
				() =>
					new FtpDestination({
						type: 'ftp',
						host: '127.0.0.1',
						port: proxy.port,
						username: ftp.user.name,
						password: ftp.user.password,
						tls: 'none',
						timeoutMs: 10_000,
					}),
				(remote) => path.join(ftp.user.home, remote),
				false,
			);
		},
	);
});

describe('fault injection: Google Drive resumable upload cut at several offsets (emulator)', () => {
	let emulator: DriveEmulator;
	let proxy: CutProxy;
	let config: ConstructorParameters<typeof GoogleDriveDestination>[0];
	beforeAll(async () => {
		const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
		emulator = await startDriveEmulator({
			serviceAccount: {
				clientEmail: 'sa@test.iam.gserviceaccount.com',
				publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
			},
		});
		proxy = await startCutProxy(Number(new URL(emulator.url).port));
		config = {
			type: 'google-drive',
			auth: {
				kind: 'serviceAccount',
				clientEmail: 'sa@test.iam.gserviceaccount.com',
				privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
			},
			rootFolderId: emulator.rootFolderId,
			apiBaseUrl: `http://127.0.0.1:${proxy.port}`,
			tokenUrl: emulator.tokenUrl,
			chunkBytes: 512 * 1024,
		};
	});
	afterAll(async () => {
		await proxy?.stop();
		await emulator?.stop();
	});

	it('a cut mid-chunk is resumed from the Range the session reports, within the same put; no file ever has the final name early', async () => {
		for (const offset of CUT_OFFSETS) {
			const remote = `prod/set-${offset}/database.dump`;
			const name = 'database.dump';
			const finalSize = () => {
				const file = emulator
					.files()
					.find(
						(candidate) =>
							candidate.name === name &&
							candidate.parents.some(
								(parent) => emulator.files().find((folder) => folder.id === parent)?.name === `set-${offset}`,
							),
					);
				return file?.size;
			};
			const statusQueriesBefore = emulator.requests.length;
			proxy.arm(offset);
			const destination = new GoogleDriveDestination(config);
			const attempt = await watchFinalName(finalSize, destination.put(localFile, remote));
			await destination.close();
			expect({ offset, violations: attempt.violations }).toEqual({ offset, violations: [] });
			expect(proxy.cuts).toBeGreaterThan(0);
			const failure = attempt.result.status === 'rejected' ? String(attempt.result.reason) : undefined;
			expect({ offset, failure }).toEqual({ offset, failure: undefined });
			if (attempt.result.status === 'fulfilled')
				expect(attempt.result.value).toMatchObject({ bytes: FILE_BYTES, sha256: sha256(data), verifiedBy: 'sha256' });
			const stored = emulator
				.files()
				.find((file) => file.name === name && file.size === FILE_BYTES && file.sha256Checksum === sha256(data));
			expect(stored).toBeDefined();
			expect((await emulator.readFile(stored!.id)).equals(data)).toBe(true);
			// The partial name is gone: only the final file remains in the set folder.
			expect(
				emulator
					.files()
					.filter((file) => file.parents.includes(stored!.parents[0]))
					.map((file) => file.name),
			).toEqual([name]);
			expect(emulator.requests.slice(statusQueriesBefore).length).toBeGreaterThan(0);
		}
	});

	it('an upload cut and abandoned resumes in the next put() of the same destination (kept session)', async () => {
		const destination = new GoogleDriveDestination({ ...config, maxRetries: 0 });
		proxy.arm(1_200_000);
		await expect(destination.put(localFile, 'prod/kept-session/database.dump')).rejects.toMatchObject({
			code: 'TRANSFER_FAILED',
		});
		expect(emulator.files().some((file) => file.name === 'database.dump' && file.size !== FILE_BYTES)).toBe(false);
		proxy.disarm();
		const result = await destination.put(localFile, 'prod/kept-session/database.dump');
		expect(result.resumedFrom).toBeGreaterThan(0);
		expect(result.resumedFrom % (256 * 1024)).toBe(0);
		expect(result).toMatchObject({ bytes: FILE_BYTES, sha256: sha256(data), verifiedBy: 'sha256' });
	});

	it('429, 503 and rateLimitExceeded answers are retried with backoff', async () => {
		emulator.faults.push(
			{ status: 429, on: 'chunk' },
			{ status: 503, on: 'chunk' },
			{ status: 403, reason: 'rateLimitExceeded', on: 'chunk' },
		);
		const destination = new GoogleDriveDestination({ ...config, apiBaseUrl: emulator.url });
		const result = await destination.put(localFile, 'prod/retried/database.dump');
		expect(result.sha256).toBe(sha256(data));
		expect(emulator.faults).toEqual([]);
	});
});

it.skip('skipped: fault injection for the local folder: there is no connection to cut; its atomicity is the same partial-name + rename protocol, covered by the conformance suite', () =>
	undefined);
