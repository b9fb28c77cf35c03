/**
 * Runs the one conformance suite against every destination, each on a real server on
 * loopback: a local folder, OpenSSH sshd (SFTP over ssh2, and SFTP with uploads through
 * OpenSSH's sftp client), vsftpd (plain FTP, explicit FTPS, implicit FTPS), and the Google
 * Drive emulator (the only emulated one: no Google here).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
	FtpDestination,
	GoogleDriveDestination,
	LocalFolderDestination,
	SftpDestination,
	type FtpConfig,
	type GoogleDriveConfig,
	type SftpConfig,
} from '../../../core/destinations';
import { findOpensshClient } from '../../../core/destinations/sftp/sftp-openssh';
import { daemonUnavailable } from '../../../support/daemons';
import { startDriveEmulator, type DriveEmulator } from '../../../support/drive-emulator';
import { startSshd, type SshdServer } from '../../../support/sshd';
import { startVsftpd, vsftpdUnavailable, type VsftpdServers } from '../../../support/vsftpd';
import { describeDestination } from './conformance';

let localRoot: string;
describeDestination(
	'local folder',
	undefined,
	async () => {
		localRoot = mkdtempSync(path.join(os.tmpdir(), 'totvs-local-dest-'));
		const config = { type: 'local' as const, folder: localRoot };
		return {
			destination: new LocalFolderDestination(config),
			expectedVerification: 'read-back',
			secrets: [],
			another: () => new LocalFolderDestination(config),
		};
	},
	async () => rmSync(localRoot, { recursive: true, force: true }),
);

const sshdMissing = daemonUnavailable('/usr/sbin/sshd', 'openssh-server');
const opensshClient = findOpensshClient();

let sshd: SshdServer | undefined;
describeDestination(
	'SFTP (OpenSSH sshd, private key with passphrase)',
	sshdMissing,
	async () => {
		sshd = await startSshd();
		const config: SftpConfig = {
			type: 'sftp',
			host: sshd.host,
			port: sshd.port,
			username: sshd.user.name,
			privateKey: sshd.clientKey,
			passphrase: sshd.clientKeyPassphrase,
			hostKeySha256: sshd.hostKeySha256,
			folder: sshd.user.home,
		};
		return {
			destination: new SftpDestination(config),
			expectedVerification: 'sha256',
			secrets: [sshd.clientKeyPassphrase, sshd.user.password],
			another: () => new SftpDestination(config),
		};
	},
	async () => sshd?.stop(),
);

let opensshSshd: SshdServer | undefined;
describeDestination(
	"SFTP (OpenSSH sshd; uploads through OpenSSH's sftp client; private key with passphrase)",
	sshdMissing ?? (typeof opensshClient === 'string' ? opensshClient : undefined),
	async () => {
		opensshSshd = await startSshd();
		// 'openssh': every put goes through the client, however small (auto keeps small files on ssh2).
		const config: SftpConfig = {
			type: 'sftp',
			host: opensshSshd.host,
			port: opensshSshd.port,
			username: opensshSshd.user.name,
			privateKey: opensshSshd.clientKey,
			passphrase: opensshSshd.clientKeyPassphrase,
			hostKeySha256: opensshSshd.hostKeySha256,
			folder: opensshSshd.user.home,
			transport: 'openssh',
		};
		return {
			destination: new SftpDestination(config),
			expectedVerification: 'sha256',
			secrets: [opensshSshd.clientKeyPassphrase, opensshSshd.user.password],
			another: () => new SftpDestination(config),
		};
	},
	async () => opensshSshd?.stop(),
);

let ftp: VsftpdServers | undefined;
const ftpMissing = vsftpdUnavailable();
// One vsftpd trio (plain, explicit, implicit) serves the three FTP suites of this file.
beforeAll(async () => {
	if (!ftpMissing) ftp = await startVsftpd();
});
afterAll(async () => ftp?.stop());

for (const tls of ['none', 'explicit', 'implicit'] as const) {
	describeDestination(
		tls === 'none'
			? 'FTP (vsftpd, plain)'
			: `FTPS ${tls} TLS (vsftpd, CA pinned${tls === 'implicit' ? ' by fingerprint' : ''})`,
		ftpMissing,
		async () => {
			const servers = ftp!;
			const instance = tls === 'none' ? servers.plain : tls === 'explicit' ? servers.explicit : servers.implicit;
			const config: FtpConfig = {
				type: 'ftp',
				host: servers.host,
				port: instance.port,
				username: servers.user.name,
				password: servers.user.password,
				tls,
				// Explicit: trust the test CA (PEM). Implicit: pin the certificate fingerprint.
				caPem: tls === 'explicit' ? servers.certPem : undefined,
				certificateSha256: tls === 'implicit' ? servers.certSha256 : undefined,
			};
			return {
				destination: new FtpDestination(config),
				expectedVerification: 'size',
				secrets: [servers.user.password],
			};
		},
		undefined,
		{ atomicCreate: false, emptyFiles: tls === 'none' },
	);
}

let emulator: DriveEmulator | undefined;
describeDestination(
	'Google Drive (emulator; service account)',
	undefined,
	async () => {
		const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
		const clientEmail = 'backup@totvs-test.iam.gserviceaccount.com';
		emulator = await startDriveEmulator({
			serviceAccount: { clientEmail, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
		});
		const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
		const config: GoogleDriveConfig = {
			type: 'google-drive',
			auth: { kind: 'serviceAccount', clientEmail, privateKey: key },
			rootFolderId: emulator.rootFolderId,
			apiBaseUrl: emulator.url,
			tokenUrl: emulator.tokenUrl,
			chunkBytes: 256 * 1024,
		};
		return {
			destination: new GoogleDriveDestination(config),
			expectedVerification: 'sha256',
			secrets: [key.split('\n')[1]],
			another: () => new GoogleDriveDestination(config),
		};
	},
	async () => emulator?.stop(),
);
