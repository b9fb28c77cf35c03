/**
 * Private by default: what we write to a destination is readable by its owner only. Files 0600,
 * the folders we create 0700, read on the server's own disk (the test servers are a real sshd
 * and vsftpd on loopback writing into local folders). Covers SFTP over ssh2 (small files), SFTP
 * through OpenSSH's `sftp put` (which copies the LOCAL file's mode: the staging dump is 0644 here
 * on purpose), the local / network folder, FTP with `SITE CHMOD`, the lock file each backend
 * creates exclusively, and the default staging folder.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
	FtpDestination,
	LocalFolderDestination,
	SftpDestination,
	type Destination,
	type FtpConfig,
	type SftpConfig,
} from '../../../core/destinations';
import { OPENSSH_MIN_BYTES } from '../../../core/destinations/sftp/transport';
import { partialName } from '../../../core/destinations/destination';
import { findOpensshClient, type SpawnFunction } from '../../../core/destinations/sftp/sftp-openssh';
import { prepareStagingFolder } from '../../../core/location/staging-folder';
import { daemonUnavailable } from '../../../support/daemons';
import { startSshd, type SshdServer } from '../../../support/sshd';
import { startVsftpd, vsftpdUnavailable, type VsftpdServers } from '../../../support/vsftpd';

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8).padStart(4, '0');

let scratch: string;
let smallFile: string;
let bigFile: string;
beforeAll(() => {
	// Wide open on purpose, like a dump a umask-022 process wrote: nothing may copy this mode.
	scratch = mkdtempSync(path.join(os.tmpdir(), 'totvs-modes-'));
	smallFile = path.join(scratch, 'small.json');
	writeFileSync(smallFile, '{"small":true}\n', { mode: 0o644 });
	bigFile = path.join(scratch, 'big.dump');
	writeFileSync(bigFile, Buffer.alloc(OPENSSH_MIN_BYTES + 1234, 7), { mode: 0o644 });
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Uploads a small and a big file into new folders (env/set/sub), creates a lock exclusively,
 * and returns the modes as they are on the server's disk under `root`.
 */
async function modesAfterUpload(destination: Destination, root: string, tag: string) {
	try {
		await destination.put(smallFile, `${tag}/set-1/manifest.json`);
		await destination.put(bigFile, `${tag}/set-1/data/big.dump`);
		expect(await destination.createExclusive(`${tag}/.totvs-lock.json`, '{"lock":1}')).toBe(true);
	} finally {
		await destination.close();
	}
	const at = (rel: string) => mode(path.join(root, rel));
	return {
		envFolder: at(tag),
		setFolder: at(`${tag}/set-1`),
		subFolder: at(`${tag}/set-1/data`),
		small: at(`${tag}/set-1/manifest.json`),
		big: at(`${tag}/set-1/data/big.dump`),
		lock: at(`${tag}/.totvs-lock.json`),
	};
}

const PRIVATE = {
	envFolder: '0700',
	setFolder: '0700',
	subFolder: '0700',
	small: '0600',
	big: '0600',
	lock: '0600',
};

describe('what we write is private: files 0600, folders 0700, on the server disk', () => {
	it('local or network folder', async () => {
		const root = mkdtempSync(path.join(os.tmpdir(), 'totvs-modes-local-'));
		try {
			const modes = await modesAfterUpload(new LocalFolderDestination({ type: 'local', folder: root }), root, 'env');
			expect(modes).toEqual(PRIVATE);
		} finally {
			rmSync(root, { recursive: true, force: true });
		}
	});

	it('the default staging folder is created 0700', async () => {
		const userFolder = mkdtempSync(path.join(os.tmpdir(), 'totvs-modes-n8n-'));
		const saved = process.env.N8N_USER_FOLDER;
		process.env.N8N_USER_FOLDER = userFolder;
		try {
			const folder = await prepareStagingFolder(undefined);
			expect(folder).toBe(path.join(userFolder, '.n8n-files', 'totvs-backups'));
			expect(mode(folder)).toBe('0700');
			expect(mode(path.dirname(folder))).toBe('0700');
		} finally {
			if (saved === undefined) delete process.env.N8N_USER_FOLDER;
			else process.env.N8N_USER_FOLDER = saved;
			rmSync(userFolder, { recursive: true, force: true });
		}
	});

	const sshdMissing = daemonUnavailable('/usr/sbin/sshd', 'openssh-server');
	const client = findOpensshClient();
	const sftpMissing = sshdMissing ?? (typeof client === 'string' ? client : undefined);
	describe(sftpMissing ? `SFTP (skipped: ${sftpMissing})` : 'SFTP (OpenSSH sshd)', () => {
		const test = sftpMissing ? it.skip : it;
		let sshd: SshdServer;
		beforeAll(async () => {
			if (!sftpMissing) sshd = await startSshd();
		});
		afterAll(async () => sshd?.stop());
		const config = (transport: SftpConfig['transport']): SftpConfig => ({
			type: 'sftp',
			host: sshd.host,
			port: sshd.port,
			username: sshd.user.name,
			password: sshd.user.password,
			hostKeySha256: sshd.hostKeySha256,
			folder: sshd.user.home,
			transport,
			timeoutMs: 30_000,
		});

		test('auto transport: small files over ssh2, the big one through `sftp put`', async () => {
			const modes = await modesAfterUpload(new SftpDestination(config('auto')), sshd.user.home, 'auto');
			expect(modes).toEqual(PRIVATE);
		});

		test('ssh2 transport only', async () => {
			const modes = await modesAfterUpload(new SftpDestination(config('ssh2')), sshd.user.home, 'ssh2');
			expect(modes).toEqual(PRIVATE);
		});

		test('OpenSSH transport for every file; the partial is private before `sftp put` starts', async () => {
			// When each sftp client starts, the partial it will write is already on disk, 0600.
			const partials: string[] = [];
			const spawnAndLook: SpawnFunction = (command, args, options) => {
				const partial = path.join(sshd.user.home, partialName('openssh/set-1/data/big.dump'));
				if (existsSync(partial)) partials.push(mode(partial));
				return spawn(command, args, options);
			};
			const destination = new SftpDestination(config('openssh'), { spawn: spawnAndLook });
			const modes = await modesAfterUpload(destination, sshd.user.home, 'openssh');
			expect(modes).toEqual(PRIVATE);
			expect(partials).toEqual(['0600']);
		});
	});

	const ftpMissing = vsftpdUnavailable();
	describe(ftpMissing ? `FTP (skipped: ${ftpMissing})` : 'FTP (vsftpd, SITE CHMOD)', () => {
		const test = ftpMissing ? it.skip : it;
		let ftp: VsftpdServers;
		beforeAll(async () => {
			if (!ftpMissing) ftp = await startVsftpd();
		});
		afterAll(async () => ftp?.stop());

		test('files and folders chmod-ed through SITE CHMOD', async () => {
			const config: FtpConfig = {
				type: 'ftp',
				host: ftp.host,
				port: ftp.plain.port,
				username: ftp.user.name,
				password: ftp.user.password,
				tls: 'none',
			};
			const modes = await modesAfterUpload(new FtpDestination(config), ftp.user.home, 'ftp');
			expect(modes).toEqual(PRIVATE);
		});
	});
});
