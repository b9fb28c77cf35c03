/**
 * What a user sees when something is wrong: wrong credentials, an unknown or changed host key,
 * an untrusted certificate, a full remote disk, a full Drive. Every case must be a BackupError
 * with a code, a message naming the place, and a hint; none may leak a secret.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FtpDestination, GoogleDriveDestination, SftpDestination, type Destination } from '../../../core/destinations';
import { findOpensshClient } from '../../../core/destinations/sftp/sftp-openssh';
import { BackupError } from '../../../core/errors';
import { daemonUnavailable, freePort } from '../../../support/daemons';
import { startDriveEmulator, type DriveEmulator } from '../../../support/drive-emulator';
import { mountSmallDisk, type SmallDisk } from '../../../support/small-disk';
import { startSshd, type SshdServer } from '../../../support/sshd';
import { startVsftpd, vsftpdUnavailable, type VsftpdServers } from '../../../support/vsftpd';

/** Whether a tiny real filesystem can be mounted here (root), known when the tests are collected. */
function smallDiskUnavailable(): string | undefined {
	const disk = mountSmallDisk(64 * 1024);
	if (typeof disk === 'string') return disk;
	disk.unmount();
	return undefined;
}
const smallDiskMissing = smallDiskUnavailable();
const diskFullTitle = `a full remote disk is DISK_FULL, and nothing is left under the final name${smallDiskMissing ? ` (skipped: ${smallDiskMissing})` : ''}`;

let scratch: string;
let bigFile: string;
beforeAll(() => {
	scratch = mkdtempSync(path.join(os.tmpdir(), 'totvs-dest-errors-'));
	bigFile = path.join(scratch, 'big.dump');
	writeFileSync(bigFile, randomBytes(3 * 1024 * 1024));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs `operation`, expects a BackupError with that code, checks it is clear and secret-free. */
async function expectBackupError(
	operation: Promise<unknown>,
	code: string,
	secrets: string[] = [],
): Promise<BackupError> {
	const error = await operation.then(
		() => undefined,
		(reason: unknown) => reason,
	);
	expect(error).toBeInstanceOf(BackupError);
	const backupError = error as BackupError;
	expect({ code: backupError.code, message: backupError.message }).toEqual({ code, message: expect.any(String) });
	expect(backupError.hint.length).toBeGreaterThan(10);
	for (const secret of secrets) {
		expect(backupError.message).not.toContain(secret);
		expect(backupError.hint).not.toContain(secret);
	}
	return backupError;
}

async function using<T>(destination: Destination, body: (destination: Destination) => Promise<T>): Promise<T> {
	try {
		return await body(destination);
	} finally {
		await destination.close();
	}
}

// Both transports of SFTP uploads: ssh2 throughout, and OpenSSH's sftp client for the bytes.
for (const transport of ['ssh2', 'openssh'] as const)
	describe(`SFTP errors (uploads over ${transport})`, () => {
		const openssh = findOpensshClient();
		const missing =
			daemonUnavailable('/usr/sbin/sshd', 'openssh-server') ??
			(transport === 'openssh' && typeof openssh === 'string' ? openssh : undefined);
		const test = missing ? it.skip : it;
		const title = (what: string) => (missing ? `skipped: ${missing} (${what})` : what);
		let sshd: SshdServer;
		const config = () => ({
			type: 'sftp' as const,
			host: sshd.host,
			port: sshd.port,
			username: sshd.user.name,
			password: sshd.user.password,
			hostKeySha256: sshd.hostKeySha256,
			folder: sshd.user.home,
			timeoutMs: 10_000,
			transport,
		});
		beforeAll(async () => {
			if (!missing) sshd = await startSshd();
		});
		afterAll(async () => sshd?.stop());

		test(title('a wrong password is AUTH_FAILED'), async () => {
			await using(new SftpDestination({ ...config(), password: 'wrong-password-123' }), (d) =>
				expectBackupError(d.list(''), 'AUTH_FAILED', ['wrong-password-123']),
			);
		});
		test(title('a wrong key passphrase is AUTH_FAILED'), async () => {
			await using(
				new SftpDestination({
					...config(),
					password: undefined,
					privateKey: sshd.clientKey,
					passphrase: 'not-the-passphrase',
				}),
				(d) => expectBackupError(d.list(''), 'AUTH_FAILED', ['not-the-passphrase']),
			);
		});
		test(title('a changed host key is refused, naming both fingerprints'), async () => {
			const error = await using(new SftpDestination({ ...config(), hostKeySha256: sshd.otherHostKeySha256 }), (d) =>
				expectBackupError(d.list(''), 'HOST_KEY_MISMATCH', [sshd.user.password]),
			);
			expect(error.message).toContain(sshd.hostKeySha256);
			expect(error.message).toContain(sshd.otherHostKeySha256);
		});
		test(title('no pinned host key is refused up front'), async () => {
			expect(() => new SftpDestination({ ...config(), hostKeySha256: '' })).toThrow(/host key fingerprint/);
		});
		test(title('a closed port is UNREACHABLE'), async () => {
			const port = await freePort();
			await using(new SftpDestination({ ...config(), port }), (d) => expectBackupError(d.list(''), 'UNREACHABLE'));
		});
		(smallDiskMissing ? it.skip : test)(title(diskFullTitle), async () => {
			const disk = mountSmallDisk(1024 * 1024) as SmallDisk;
			try {
				const error = await using(new SftpDestination({ ...config(), folder: disk.path }), (d) =>
					expectBackupError(d.put(bigFile, 'prod/set/big.dump'), 'DISK_FULL', [sshd.user.password]),
				);
				// OpenSSH's sftp reports ENOSPC as `write remote "…": Failure`; the message quotes it.
				if (transport === 'openssh')
					expect(error.message).toMatch(/sftp: write remote ".*\.big\.dump\.totvs-partial": Failure/);
				expect(existsSync(path.join(disk.path, 'prod/set/big.dump'))).toBe(false);
			} finally {
				disk.unmount();
			}
		});
	});

describe('FTP / FTPS errors', () => {
	const missing = vsftpdUnavailable();
	const test = missing ? it.skip : it;
	const title = (what: string) => (missing ? `skipped: ${missing} (${what})` : what);
	let ftp: VsftpdServers;
	const base = (tls: 'none' | 'explicit' | 'implicit') => ({
		type: 'ftp' as const,
		host: ftp.host,
		port: tls === 'none' ? ftp.plain.port : tls === 'explicit' ? ftp.explicit.port : ftp.implicit.port,
		username: ftp.user.name,
		password: ftp.user.password,
		tls,
		timeoutMs: 10_000,
	});
	beforeAll(async () => {
		if (!missing) ftp = await startVsftpd();
	});
	afterAll(async () => ftp?.stop());

	test(title('a wrong password is AUTH_FAILED'), async () => {
		await using(new FtpDestination({ ...base('none'), password: 'wrong-password-456' }), (d) =>
			expectBackupError(d.list(''), 'AUTH_FAILED', ['wrong-password-456']),
		);
	});
	test(
		title('a self-signed certificate is refused by default, and the message shows its fingerprint to pin'),
		async () => {
			const error = await using(new FtpDestination(base('explicit')), (d) =>
				expectBackupError(d.list(''), 'TLS_CERTIFICATE', [ftp.user.password]),
			);
			expect(error.message).toContain(ftp.certSha256);
		},
	);
	test(title('a certificate signed by another CA is refused (implicit TLS)'), async () => {
		await using(new FtpDestination({ ...base('implicit'), caPem: ftp.otherCertPem }), (d) =>
			expectBackupError(d.list(''), 'TLS_CERTIFICATE'),
		);
	});
	test(title('a wrong pinned fingerprint is refused before logging in, naming both'), async () => {
		const error = await using(
			new FtpDestination({ ...base('explicit'), certificateSha256: ftp.otherCertSha256 }),
			(d) => expectBackupError(d.list(''), 'TLS_CERTIFICATE'),
		);
		expect(error.message).toContain(ftp.certSha256);
		expect(error.message).toContain(ftp.otherCertSha256);
		expect(error.message).toMatch(/before logging in/);
	});
	(smallDiskMissing ? it.skip : test)(title(diskFullTitle), async () => {
		const disk = mountSmallDisk(1024 * 1024) as SmallDisk;
		try {
			// Plain FTP: over FTPS, vsftpd's 451 reply comes after the TLS data socket error (TRANSFER_FAILED).
			await using(new FtpDestination({ ...base('none'), folder: disk.path }), (d) =>
				expectBackupError(d.put(bigFile, 'prod/set/big.dump'), 'DISK_FULL'),
			);
			expect(existsSync(path.join(disk.path, 'prod/set/big.dump'))).toBe(false);
			expect(readdirSync(path.join(disk.path, 'prod/set')).every((name) => name.endsWith('.totvs-partial'))).toBe(true);
		} finally {
			disk.unmount();
		}
	});
});

describe('Google Drive errors (emulator)', () => {
	let emulator: DriveEmulator;
	let privateKey: string;
	const clientEmail = 'sa@test.iam.gserviceaccount.com';
	const serviceAccount = (extra: Partial<ConstructorParameters<typeof GoogleDriveDestination>[0]> = {}) =>
		new GoogleDriveDestination({
			type: 'google-drive',
			auth: { kind: 'serviceAccount', clientEmail, privateKey },
			rootFolderId: emulator.rootFolderId,
			apiBaseUrl: emulator.url,
			tokenUrl: emulator.tokenUrl,
			maxRetries: 1,
			...extra,
		});
	beforeAll(async () => {
		const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
		privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
		emulator = await startDriveEmulator({
			oauthClient: { clientId: 'client-id', clientSecret: 'client-secret-789', refreshToken: 'refresh-token-good' },
			serviceAccount: {
				clientEmail,
				publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
				allowedSubjects: ['backup@empresa.com.br'],
			},
		});
	});
	afterAll(async () => emulator?.stop());
	afterEach(() => {
		emulator.quotaBytes = undefined;
		emulator.dailyUploadCapBytes = undefined;
	});

	it('a revoked refresh token is AUTH_FAILED with a hint to sign in again', async () => {
		const destination = new GoogleDriveDestination({
			type: 'google-drive',
			auth: {
				kind: 'oauth2',
				clientId: 'client-id',
				clientSecret: 'client-secret-789',
				refreshToken: 'refresh-token-revoked',
			},
			rootFolderId: emulator.rootFolderId,
			apiBaseUrl: emulator.url,
			tokenUrl: emulator.tokenUrl,
		});
		const error = await expectBackupError(destination.list(''), 'AUTH_FAILED', [
			'client-secret-789',
			'refresh-token-revoked',
		]);
		expect(error.hint).toMatch(/sign in again/);
	});
	it('OAuth2 with a good refresh token works', async () => {
		const destination = new GoogleDriveDestination({
			type: 'google-drive',
			auth: {
				kind: 'oauth2',
				clientId: 'client-id',
				clientSecret: 'client-secret-789',
				refreshToken: 'refresh-token-good',
			},
			rootFolderId: emulator.rootFolderId,
			apiBaseUrl: emulator.url,
			tokenUrl: emulator.tokenUrl,
		});
		expect(await destination.list('')).toEqual(expect.any(Array));
	});
	it('domain-wide delegation to a user the service account may not impersonate is AUTH_FAILED naming the delegation', async () => {
		const error = await expectBackupError(
			serviceAccount({ auth: { kind: 'serviceAccount', clientEmail, privateKey, subject: 'someone@else.com' } }).list(
				'',
			),
			'AUTH_FAILED',
		);
		expect(error.hint).toMatch(/domain-wide delegation/);
		expect(
			await serviceAccount({
				auth: { kind: 'serviceAccount', clientEmail, privateKey, subject: 'backup@empresa.com.br' },
			}).list(''),
		).toEqual(expect.any(Array));
	});
	it('a full Drive (storageQuotaExceeded) is QUOTA_EXCEEDED, not retried forever', async () => {
		emulator.quotaBytes = 1024 * 1024;
		const error = await expectBackupError(serviceAccount().put(bigFile, 'prod/set/big.dump'), 'QUOTA_EXCEEDED', [
			privateKey.split('\n')[1],
		]);
		expect(error.message).toMatch(/storageQuotaExceeded/);
		expect(emulator.files().some((file) => file.name === 'big.dump')).toBe(false);
	});
	it('the daily upload cap is QUOTA_EXCEEDED with the 750 GB hint after the retries', async () => {
		emulator.dailyUploadCapBytes = emulator.uploadedToday + 1024 * 1024;
		const error = await expectBackupError(
			serviceAccount({ chunkBytes: 512 * 1024 }).put(bigFile, 'prod/cap/big.dump'),
			'QUOTA_EXCEEDED',
		);
		expect(error.hint).toMatch(/750 GB/);
		expect(emulator.files().some((file) => file.name === 'big.dump')).toBe(false);
	});
	it('a folder id that does not exist is PERMISSION_DENIED with a sharing hint', async () => {
		const error = await expectBackupError(
			serviceAccount({ rootFolderId: 'no-such-folder' }).put(bigFile, 'prod/x/big.dump'),
			'PERMISSION_DENIED',
		);
		expect(error.hint).toMatch(/Share the folder/);
	});
});
